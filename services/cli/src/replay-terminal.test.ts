import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TerminalRow } from '@agentgate/audit-report';
import { Command } from 'commander';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { registerReplay } from './replay-commands.js';
import { castOf } from './replay-terminal.js';

const T0 = 1_795_000_000_123_456;

function terminalRows(session: string): TerminalRow[] {
  const detail = {
    channel: 'shell',
    command: null,
    operation: null,
    path: null,
    forwardHost: null,
    forwardPort: null,
    ptyTerm: 'xterm-256color',
    ptyCols: 20,
    ptyRows: 4,
  };
  const frames = (list: [number, string, string][]) => list.map(([offsetUs, kind, data]) => ({ offsetUs, kind, data }));
  return [
    {
      event_id: 'e1',
      event_type: 'RequestObserved',
      session_id: session,
      seq: '1',
      time_us: String(T0),
      request_id: 'sh1',
      payload_json: JSON.stringify({ requestId: 'sh1', protocol: 'ssh', detail: { 'agentgate.v1.SshRequest': detail } }),
    },
    {
      event_id: 'e3',
      event_type: 'TerminalRecorded',
      session_id: session,
      seq: '3',
      time_us: String(T0 + 2_000_000),
      request_id: 'sh1',
      payload_json: JSON.stringify({
        requestId: 'sh1',
        frames: frames([
          [1_500_000, 'i', 'ls\r'],
          [1_600_000, 'o', 'ls\r\nnotes.txt\r\n$ '],
        ]),
        masking: [],
      }),
    },
    {
      event_id: 'e2',
      event_type: 'TerminalRecorded',
      session_id: session,
      seq: '2',
      time_us: String(T0 + 1_000_000),
      request_id: 'sh1',
      payload_json: JSON.stringify({ requestId: 'sh1', frames: frames([[250_000, 'o', '\u001b[2J\u001b[H$ ']]), masking: [] }),
    },
  ];
}

async function run(args: string[], answer: (sql: string) => unknown[]) {
  const out: string[] = [];
  const err: string[] = [];
  const queries: string[] = [];
  const files = new Map<string, string>();
  const sleeps: number[] = [];
  let exit: number | undefined;
  const audit: AuditReader = {
    async rows<T>(query: string): Promise<T[]> {
      queries.push(query);
      return answer(query) as T[];
    },
    async close() {},
  };
  const program = new Command('agentgate').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  registerReplay(program, {
    io: { out: (s) => out.push(s), err: (s) => err.push(s) },
    configOf: () => ({ clickhouseDatabase: 'agentgate' }) as CliConfig,
    withAudit: (fn) => fn(audit),
    setExit: (code) => {
      exit = code;
    },
    terminalEffects: {
      writeFile: (path, text) => files.set(path, text),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
  });
  await program.parseAsync(['replay', ...args], { from: 'user' });
  return { out: out.join(''), err: err.join(''), exit, queries, files, sleeps };
}

const CAST =
  '{"version":2,"width":20,"height":4,"timestamp":1795000000,"title":"agentgate session s1 request sh1","env":{"TERM":"xterm-256color"}}\n' +
  '[0.250000, "o", "\\u001b[2J\\u001b[H$ "]\n' +
  '[1.500000, "i", "ls\\r"]\n' +
  '[1.600000, "o", "ls\\r\\nnotes.txt\\r\\n$ "]\n';

test('--cast - prints the asciicast built from the rows, frames in chain order', async () => {
  const r = await run(['s1', '--cast', '-'], () => terminalRows('s1'));
  assert.equal(r.exit, 0);
  assert.equal(r.out, CAST);
  assert.equal(r.queries.length, 1);
  assert.ok(
    r.queries[0]!.includes("FROM `agentgate`.events WHERE session_id = 's1' AND event_type IN ('RequestObserved', 'TerminalRecorded')"),
  );
});

test('--cast <file> writes the file; --screen prints the final screen', async () => {
  const r = await run(['s1', '--cast', 'out.cast', '--screen'], () => terminalRows('s1'));
  assert.equal(r.exit, 0);
  assert.equal(r.files.get('out.cast'), CAST);
  assert.equal(r.out, '$ ls\nnotes.txt\n$\n\n');
  assert.match(r.err, /wrote 3 frames of request sh1 to out\.cast/);
});

test('--play writes the output frames with their gaps, scaled by --speed', async () => {
  const r = await run(['s1', '--play', '--speed', '2'], () => terminalRows('s1'));
  assert.equal(r.exit, 0);
  assert.equal(r.out, '\u001b[2J\u001b[H$ ls\r\nnotes.txt\r\n$ ');
  assert.deepEqual(r.sleeps, [(1.35 * 1000) / 2]);
  const fast = await run(['s1', '--play', '--speed', '0'], () => terminalRows('s1'));
  assert.deepEqual(fast.sleeps, []);
});

test('exits 3 when no terminal is recorded, or none for --request', async () => {
  const none = await run(['s1', '--screen'], () => []);
  assert.equal(none.exit, 3);
  assert.match(none.err, /NOTHING TO REPLAY/);
  const other = await run(['s1', '--screen', '--request', 'nope'], () => terminalRows('s1'));
  assert.equal(other.exit, 3);
  assert.equal(other.out, '');
});

test('options that do not go together exit 2 before any query', async () => {
  for (const args of [
    ['--cast', '-', '--screen'],
    ['--play', '--screen'],
    ['--json', '--screen'],
    ['--speed', '2'],
    ['--screen', '--speed', '2'],
  ]) {
    const r = await run(['s1', ...args], () => terminalRows('s1'));
    assert.equal(r.exit, 2, args.join(' '));
    assert.equal(r.queries.length, 0);
  }
});

test('castOf: a terminal without a pty size gets 80x24 and no TERM', () => {
  const text = castOf('s', { requestId: 'r', startUs: null, ptyTerm: null, ptyCols: null, ptyRows: null, frames: [], batches: 1 });
  assert.equal(text, '{"version":2,"width":80,"height":24,"title":"agentgate session s request r"}\n');
});
