import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTranscript, type ReplayRow, transcriptText } from './replay.js';
import { sessionTerminal, terminalQuery, terminalRequestIds } from './terminal.js';

const SESSION = 'ssh-1';
const T0 = 1_795_000_000_000_000;

let ids = 0;
function row(fields: Partial<ReplayRow> & Pick<ReplayRow, 'event_type' | 'seq' | 'time_us'>, payload: object = {}): ReplayRow {
  return {
    event_id: `e${++ids}`,
    session_id: SESSION,
    subject: 'dave',
    actor: 'demo-agent',
    actor_chain: ['dave', 'demo-agent'],
    request_id: '',
    protocol: 'ssh',
    connection: 'bastion',
    statement_kind: '',
    sql_text: '',
    decision: '',
    rule_id: '',
    policy_version: 'v1',
    shadow: 0,
    outcome: '',
    row_count: 0,
    error_code: '',
    ...fields,
    payload_json: JSON.stringify(payload),
  };
}

const ssh = (detail: object) => ({
  requestId: 'x',
  protocol: 'ssh',
  connection: 'bastion',
  // payload_json holds the writer's form: the detail union wrapped, nullable fields plain
  detail: {
    'agentgate.v1.SshRequest': {
      channel: 'exec',
      command: null,
      subsystem: null,
      operation: null,
      path: null,
      targetPath: null,
      offset: null,
      length: null,
      forwardHost: null,
      forwardPort: null,
      environment: [],
      ptyTerm: null,
      ptyCols: null,
      ptyRows: null,
      ...detail,
    },
  },
});

const request = (seq: number, id: string, detail: object): ReplayRow =>
  row({ event_type: 'RequestObserved', seq, time_us: T0 + seq * 1000, request_id: id }, ssh(detail));
const allow = (seq: number, id: string): ReplayRow =>
  row({ event_type: 'VerdictIssued', seq, time_us: T0 + seq * 1000, request_id: id, decision: 'allow', rule_id: 'ops' });
const terminal = (seq: number, id: string, frames: object[], masking: object[] = []): ReplayRow =>
  row(
    { event_type: 'TerminalRecorded', seq, time_us: T0 + seq * 1000, request_id: id, row_count: frames.length },
    { requestId: id, frames, masking },
  );

function sessionRows(): ReplayRow[] {
  return [
    row({ event_type: 'SessionOpened', seq: 0, time_us: T0 }, { clientAddress: '10.0.0.7' }),
    request(1, 'r-exec', { channel: 'exec', command: 'uname -a' }),
    allow(2, 'r-exec'),
    row(
      { event_type: 'ResponseObserved', seq: 3, time_us: T0 + 3000, request_id: 'r-exec', outcome: 'ok' },
      { exitStatus: 0, exitSignal: null, streams: [{ name: 'stdout', bytes: 42, sha256: 'ab' }], masking: [], durationUs: 900 },
    ),
    request(4, 'r-sftp', { channel: 'sftp', subsystem: 'sftp', operation: 'rename', path: '/tmp/a', targetPath: '/tmp/b' }),
    request(5, 'r-fwd', { channel: 'direct-tcpip', forwardHost: 'db.internal', forwardPort: 5432 }),
    request(6, 'r-shell', { channel: 'shell', ptyTerm: 'xterm-256color', ptyCols: 100, ptyRows: 30 }),
    allow(7, 'r-shell'),
    terminal(8, 'r-shell', [{ offsetUs: 1000, kind: 'o', data: '$ ' }], [{ key: 'detector:card', count: 1 }]),
    terminal(9, 'r-shell', [
      { offsetUs: 2000, kind: 'i', data: 'ls\r' },
      { offsetUs: 2500, kind: 'o', data: 'ls\r\nfile\r\n$ ' },
      { offsetUs: 2600, kind: 'x', data: 'unknown kinds are skipped' },
    ]),
  ];
}

test('SSH requests show their command, SFTP operation, forward target and shell pty', () => {
  const t = buildTranscript(SESSION, [...sessionRows()].reverse());
  assert.deepEqual(
    t.requests.map((r) => [r.statementKind, r.text]),
    [
      ['exec', 'uname -a'],
      ['sftp rename', 'rename /tmp/a -> /tmp/b'],
      ['direct-tcpip', 'direct-tcpip db.internal:5432'],
      ['shell', 'shell (pty xterm-256color 100x30)'],
    ],
  );
  assert.equal(t.requests[0]?.response?.exitStatus, 0);
  assert.deepEqual(t.requests[3]?.terminal, { batches: 2, frames: 4, masking: [{ key: 'detector:card', count: 1 }] });
  const text = transcriptText(t);
  for (const line of [
    '  > uname -a',
    'response: ok, exit 0 (2.0 ms from request to response, 0.9 ms at the target)',
    'streams: stdout 42 bytes',
    '  > rename /tmp/a -> /tmp/b',
    '  > direct-tcpip db.internal:5432',
    'terminal: 4 frames in 2 batches (agentgate replay ssh-1 --request r-shell',
    'terminal masked: detector:card x1',
  ])
    assert.ok(text.includes(line), `missing ${JSON.stringify(line)} in\n${text}`);
  // an SSH response has no rows to count
  assert.equal(text.includes('0 rows'), false);
});

test('the terminal of the first shell request: pty size, start time and frames in chain order', () => {
  const rows = [
    ...sessionRows(),
    request(10, 'r-shell-2', { channel: 'shell' }),
    terminal(11, 'r-shell-2', [{ offsetUs: 1, kind: 'o', data: 'B' }]),
  ];
  assert.deepEqual(terminalRequestIds(SESSION, rows.reverse()), ['r-shell', 'r-shell-2']);
  const term = sessionTerminal(SESSION, [...rows, ...rows]);
  assert.deepEqual(term, {
    requestId: 'r-shell',
    startUs: T0 + 6000,
    ptyTerm: 'xterm-256color',
    ptyCols: 100,
    ptyRows: 30,
    batches: 2,
    frames: [
      { offsetUs: 1000, kind: 'o', data: '$ ' },
      { offsetUs: 2000, kind: 'i', data: 'ls\r' },
      { offsetUs: 2500, kind: 'o', data: 'ls\r\nfile\r\n$ ' },
    ],
  });
  assert.equal(sessionTerminal(SESSION, rows, 'r-shell-2')?.frames.length, 1);
  assert.equal(sessionTerminal(SESSION, rows, 'r-exec'), undefined);
  assert.equal(sessionTerminal('other', rows), undefined);
});

test('the terminal query reads the session chain only, with the fragments as quoted', () => {
  assert.equal(
    terminalQuery({ database: '`agentgate`', session: "'s\\'1'" }),
    "SELECT event_id, event_type, session_id, seq, time_us, request_id, payload_json FROM `agentgate`.events WHERE session_id = 's\\'1'" +
      " AND event_type IN ('RequestObserved', 'TerminalRecorded') ORDER BY seq",
  );
});
