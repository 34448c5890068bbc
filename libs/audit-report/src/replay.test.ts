import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTranscript, transcriptText, type ReplayRow } from './replay.js';

const SESSION = 'sess-1';
const APPROVAL = 'appr-1';
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
    protocol: '',
    connection: '',
    statement_kind: '',
    sql_text: '',
    decision: '',
    rule_id: '',
    policy_version: '',
    shadow: 0,
    outcome: '',
    row_count: 0,
    error_code: '',
    ...fields,
    payload_json: JSON.stringify(payload),
  };
}

const response = (requestId: string, extra: object) => ({
  requestId,
  bytes: 10,
  columns: [],
  commandTags: [],
  durationUs: 700,
  errorCode: null,
  errorMessage: null,
  masking: [],
  sampleRows: [],
  sampleTruncated: false,
  ...extra,
});

/** A session with a masked SELECT, a denied statement and an approved DELETE (ClickHouse row form). */
function sessionRows(): ReplayRow[] {
  return [
    row(
      { event_type: 'SessionOpened', seq: '0', time_us: String(T0), protocol: 'postgres', connection: 'demo' },
      { clientAddress: '10.0.0.7', clientApplication: 'psql', targetDatabase: 'demo', targetUser: 'agentgate_demo_rw' },
    ),
    // 1: a masked SELECT, with a shadow verdict beside the live one
    row({
      event_type: 'RequestObserved',
      seq: 1,
      time_us: T0 + 1000,
      request_id: 'r1',
      statement_kind: 'SelectStmt',
      sql_text: 'SELECT email, name FROM users',
    }),
    row({
      event_type: 'VerdictIssued',
      seq: 2,
      time_us: T0 + 1200,
      request_id: 'r1',
      decision: 'allow',
      rule_id: 'mask-pii',
      policy_version: 'demo-3',
    }),
    row({
      event_type: 'VerdictIssued',
      seq: 3,
      time_us: T0 + 1300,
      request_id: 'r1',
      decision: 'deny',
      rule_id: 'strict',
      policy_version: 'demo-4',
      shadow: 1,
    }),
    row(
      { event_type: 'ResponseObserved', seq: 4, time_us: T0 + 3500, request_id: 'r1', outcome: 'ok', row_count: '2' },
      response('r1', {
        columns: [
          { name: 'email', typeOid: 25 },
          { name: 'name', typeOid: 25 },
        ],
        commandTags: ['SELECT 2'],
        sampleRows: [
          ['***@***', 'Ann'],
          ['***@***', null],
        ],
        masking: [{ count: 2, key: 'column:public.users.email' }],
      }),
    ),
    // 2: denied
    row({
      event_type: 'RequestObserved',
      seq: 5,
      time_us: T0 + 5000,
      request_id: 'r2',
      statement_kind: 'DropStmt',
      sql_text: 'DROP TABLE users',
    }),
    row(
      {
        event_type: 'VerdictIssued',
        seq: 6,
        time_us: T0 + 5100,
        request_id: 'r2',
        decision: 'deny',
        rule_id: 'no-ddl',
        policy_version: 'demo-3',
      },
      { reason: 'DDL is not allowed' },
    ),
    row(
      {
        event_type: 'ResponseObserved',
        seq: 7,
        time_us: T0 + 5200,
        request_id: 'r2',
        outcome: 'denied',
        error_code: 'AG_ERR_POLICY_DENIED',
      },
      response('r2', { errorCode: 'AG_ERR_POLICY_DENIED', errorMessage: 'denied by policy', durationUs: 0 }),
    ),
    // 3: a DELETE sent for approval, approved by bob, then run
    row({
      event_type: 'RequestObserved',
      seq: 8,
      time_us: T0 + 9000,
      request_id: 'r3',
      statement_kind: 'DeleteStmt',
      sql_text: "DELETE FROM orders WHERE id = '?'",
    }),
    row(
      {
        event_type: 'VerdictIssued',
        seq: 9,
        time_us: T0 + 9100,
        request_id: 'r3',
        decision: 'pending_approval',
        rule_id: 'approve-deletes',
        policy_version: 'demo-3',
      },
      { approvalId: APPROVAL },
    ),
    row(
      {
        event_type: 'ApprovalRequested',
        session_id: APPROVAL,
        seq: 0,
        time_us: T0 + 9200,
        request_id: 'r3',
        decision: 'pending_approval',
      },
      { approverGroups: ['approvers'] },
    ),
    row(
      {
        event_type: 'ApprovalDecided',
        session_id: APPROVAL,
        seq: 1,
        time_us: T0 + 60_000_000,
        subject: 'bob',
        actor: 'bob',
        decision: 'approve',
      },
      { comment: { string: 'checked with the owner' } },
    ),
    row(
      { event_type: 'ApprovalResolved', session_id: APPROVAL, seq: 2, time_us: T0 + 60_000_100, outcome: 'approved' },
      { decidedBy: ['bob'] },
    ),
    row({
      event_type: 'VerdictIssued',
      seq: 10,
      time_us: T0 + 60_000_200,
      request_id: 'r3',
      decision: 'allow',
      rule_id: 'approve-deletes',
      policy_version: 'demo-3',
    }),
    row(
      { event_type: 'ResponseObserved', seq: 11, time_us: T0 + 60_002_200, request_id: 'r3', outcome: 'ok', row_count: 3 },
      response('r3', { commandTags: ['DELETE 3'], durationUs: 1500 }),
    ),
    row({ event_type: 'SessionClosed', seq: 12, time_us: T0 + 61_000_000, outcome: 'client-terminate' }, { requestCount: 3 }),
    // Another session's request with the same request id must not leak in.
    row({ event_type: 'RequestObserved', session_id: 'other', seq: 1, time_us: T0, request_id: 'r1', sql_text: 'SELECT secret' }),
  ];
}

test('the transcript shows a masked SELECT, a denied statement and an approved DELETE in order', () => {
  // Rows arrive in any order (ClickHouse gives no order without ORDER BY).
  const rows = sessionRows().reverse();
  const t = buildTranscript(SESSION, rows);
  assert.deepEqual(
    t.requests.map((r) => [r.requestId, r.statementKind, r.verdict?.decision, r.response?.outcome]),
    [
      ['r1', 'SelectStmt', 'allow', 'ok'],
      ['r2', 'DropStmt', 'deny', 'denied'],
      ['r3', 'DeleteStmt', 'allow', 'ok'],
    ],
  );
  assert.equal(t.opened?.subject, 'dave');
  assert.equal(t.opened?.actor, 'demo-agent');
  assert.equal(t.opened?.connection, 'demo');
  assert.equal(t.opened?.clientAddress, '10.0.0.7');
  assert.equal(t.closed?.reason, 'client-terminate');

  const [select, denied, del] = t.requests;
  assert.deepEqual(select?.response?.sampleRows, [
    ['***@***', 'Ann'],
    ['***@***', null],
  ]);
  assert.deepEqual(select?.response?.masking, [{ key: 'column:public.users.email', count: 2 }]);
  assert.deepEqual(select?.response?.columns, ['email', 'name']);
  assert.equal(select?.durationUs, 2500);
  // The shadow verdict is shown as such and never taken for the live one.
  assert.deepEqual(
    select?.verdicts.map((v) => [v.decision, v.shadow]),
    [
      ['allow', false],
      ['deny', true],
    ],
  );
  assert.equal(select?.verdict?.ruleId, 'mask-pii');

  assert.equal(denied?.verdict?.ruleId, 'no-ddl');
  assert.equal(denied?.verdict?.reason, 'DDL is not allowed');
  assert.equal(denied?.response?.errorCode, 'AG_ERR_POLICY_DENIED');
  assert.equal(denied?.approval, null);

  assert.equal(del?.approval?.approvalId, APPROVAL);
  assert.deepEqual(
    del?.approval?.decisions.map((d) => [d.by, d.decision, d.comment, d.at]),
    [['bob', 'approve', 'checked with the owner', new Date((T0 + 60_000_000) / 1000).toISOString()]],
  );
  assert.equal(del?.approval?.outcome, 'approved');
  assert.deepEqual(
    del?.verdicts.map((v) => v.decision),
    ['pending_approval', 'allow'],
  );
  assert.equal(del?.durationUs, 60_002_200 - 9000);
  assert.equal(del?.response?.rowCount, 3);
});

test('the text transcript reads in order with masked values only', () => {
  const text = transcriptText(buildTranscript(SESSION, sessionRows()));
  const at = (s: string): number => {
    const i = text.indexOf(s);
    assert.notEqual(i, -1, `missing ${JSON.stringify(s)} in\n${text}`);
    return i;
  };
  assert.ok(at('opened ') < at('SELECT email, name FROM users'));
  assert.ok(at('SELECT email, name FROM users') < at('DROP TABLE users'));
  assert.ok(at('DROP TABLE users') < at('DELETE FROM orders'));
  assert.ok(at('DELETE FROM orders') < at('approve by bob'));
  assert.ok(at('approve by bob') < at('closed '));
  at('demo-agent on behalf of dave');
  at('verdict: deny (rule no-ddl, policy demo-3): DDL is not allowed');
  at('shadow verdict (not enforced): deny (rule strict');
  at('masked: column:public.users.email x2');
  at('| ***@*** | Ann |');
  at('| ***@*** | NULL |');
  at('2.5 ms from request to response');
  assert.equal(text.includes('SELECT secret'), false);
});

test('control characters in recorded text are shown escaped, never sent to the terminal', () => {
  const rows = [
    row({ event_type: 'RequestObserved', seq: 1, time_us: T0, request_id: 'x', sql_text: 'SELECT 1 \u001b[2J\u0000; -- \u009b' }),
    row({ event_type: 'VerdictIssued', seq: 2, time_us: T0 + 1, request_id: 'x', decision: 'allow', rule_id: 'r\u001b]0;pwn\u0007' }),
  ];
  const text = transcriptText(buildTranscript(SESSION, rows));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the property under test
  assert.equal(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text), false);
  assert.ok(text.includes('SELECT 1 \\u001b[2J\\u0000; -- \\u009b'));
  assert.ok(text.includes('opened: not recorded'));
  assert.ok(text.includes('response: none recorded'));
});

test('an event stored twice appears once', () => {
  const rows = sessionRows();
  const t = buildTranscript(SESSION, [...rows, ...rows]);
  assert.equal(t.requests.length, 3);
  assert.equal(t.requests[0]?.verdicts.length, 2);
  assert.equal(t.requests[2]?.approval?.decisions.length, 1);
});

test('a session without rows has an empty transcript', () => {
  const t = buildTranscript('nothing', sessionRows());
  assert.deepEqual(t, { sessionId: 'nothing', opened: null, closed: null, requests: [] });
});
