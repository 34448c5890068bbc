// `agentgate hold` and `agentgate retention apply` against a fake audit API (injected fetch):
// the requests sent, the token carried, what is printed, and the exit codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { loadConfig } from './config.js';
import { EXIT } from './exit-codes.js';
import { registerHolds } from './holds-commands.js';
import { registerRetention } from './retention-commands.js';

interface Sent {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

interface Answer {
  status: number;
  body: unknown;
  contentType?: string;
}

async function cli(argv: string[], answer: (sent: Sent) => Answer, env: Record<string, string> = { AGENTGATE_TOKEN: 'tok-bob' }) {
  let stdout = '';
  let stderr = '';
  let exit: number = EXIT.ok;
  const sent: Sent[] = [];
  const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const s: Sent = {
      method: init?.method ?? 'GET',
      url: String(input),
      authorization: headers['authorization'],
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    };
    sent.push(s);
    const a = answer(s);
    return new Response(JSON.stringify(a.body), {
      status: a.status,
      headers: { 'content-type': a.contentType ?? 'application/json' },
    });
  }) as typeof fetch;
  const io = { out: (t: string) => (stdout += t), err: (t: string) => (stderr += t) };
  const program = new Command('agentgate')
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (t, write) => write(`agentgate: ${t}`) })
    .exitOverride();
  const ctx = { io, configOf: () => loadConfig(env, '/repo'), setExit: (c: number) => (exit = c), fetch: fakeFetch };
  registerHolds(program, ctx);
  registerRetention(program, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    exit = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return { stdout, stderr, exit, sent };
}

const problem = (status: number, code: string, detail: string): Answer => ({
  status,
  body: { type: `https://agentgate.dev/errors/${code}`, title: 't', status, detail, code },
  contentType: 'application/problem+json',
});

test('hold add sends the session and reason with the bearer token to AGENTGATE_AUDIT_URL, and prints the record', async () => {
  const r = await cli(['hold', 'add', 's/1', '--reason', 'case 42'], () => ({
    status: 201,
    body: { eventId: 'ev-1', sessionId: 's/1', action: 'add', reason: 'case 42', requestedBy: 'bob', projected: true },
  }));
  assert.equal(r.exit, EXIT.ok, r.stderr);
  assert.deepEqual(r.sent, [
    {
      method: 'POST',
      url: 'http://127.0.0.1:18082/v1/holds',
      authorization: 'Bearer tok-bob',
      body: { sessionId: 's/1', reason: 'case 42' },
    },
  ]);
  assert.match(r.stdout, /legal hold placed on session s\/1 \(audit record ev-1\)/);
  assert.equal(r.stderr, '');
});

test('hold add --json prints the answer only; a hold not yet in ClickHouse is said on stderr in human mode', async () => {
  const body = { eventId: 'ev-1', sessionId: 's', action: 'add', reason: 'r', requestedBy: 'bob', projected: false };
  const json = await cli(['hold', 'add', 's', '--reason', 'r', '--json'], () => ({ status: 201, body }));
  assert.deepEqual(JSON.parse(json.stdout), body);
  const human = await cli(['hold', 'add', 's', '--reason', 'r'], () => ({ status: 201, body }));
  assert.match(human.stderr, /not yet visible in ClickHouse/);
});

test('hold remove sends DELETE with the session escaped in the path; a session not held is a usage error (2)', async () => {
  const ok = await cli(['hold', 'remove', 'a/b c', '--reason', 'closed', '--url', 'http://audit.example:1/'], () => ({
    status: 200,
    body: { eventId: 'ev-2', action: 'remove' },
  }));
  assert.equal(ok.exit, EXIT.ok, ok.stderr);
  assert.equal(ok.sent[0]?.method, 'DELETE');
  assert.equal(ok.sent[0]?.url, 'http://audit.example:1/v1/holds/a%2Fb%20c');
  assert.deepEqual(ok.sent[0]?.body, { reason: 'closed' });
  const missing = await cli(['hold', 'remove', 'x', '--reason', 'closed'], () => problem(404, 'AG_ERR_BAD_REQUEST', 'not held'));
  assert.equal(missing.exit, EXIT.usage);
  assert.match(missing.stderr, /AG_ERR_BAD_REQUEST/);
  assert.equal(missing.stdout, '');
});

test('hold list prints a table, or says none on stderr; --json prints the document', async () => {
  const holds = { holds: [{ sessionId: 's-1', reason: 'case 42', requestedBy: 'bob', since: '2025-06-01T00:00:00.000Z' }] };
  const r = await cli(['hold', 'list'], () => ({ status: 200, body: holds }));
  assert.equal(r.exit, EXIT.ok);
  assert.equal(r.sent[0]?.method, 'GET');
  assert.match(r.stdout, /^SESSION +SINCE +BY +REASON\ns-1 +2025-06-01T00:00:00.000Z +bob +case 42\n$/);
  const none = await cli(['hold', 'list'], () => ({ status: 200, body: { holds: [] } }));
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /no session is under legal hold/);
  const json = await cli(['hold', 'list', '--json'], () => ({ status: 200, body: holds }));
  assert.deepEqual(JSON.parse(json.stdout), holds);
});

test('without a token, nothing is sent and the command fails with AG_ERR_AUTH_REQUIRED (1)', async () => {
  for (const argv of [
    ['hold', 'list'],
    ['hold', 'add', 's', '--reason', 'r'],
    ['retention', 'apply'],
  ]) {
    const r = await cli(argv, () => ({ status: 200, body: {} }), {});
    assert.equal(r.exit, EXIT.failure, argv.join(' '));
    assert.match(r.stderr, /AG_ERR_AUTH_REQUIRED/);
    assert.deepEqual(r.sent, []);
  }
});

test('a refusal from the audit API (403, 503) exits 1 naming the code', async () => {
  const forbidden = await cli(['hold', 'list'], () => problem(403, 'AG_ERR_FORBIDDEN', 'members of the group auditors only'));
  assert.equal(forbidden.exit, EXIT.failure);
  assert.match(forbidden.stderr, /AG_ERR_FORBIDDEN/);
  const down = await cli(['retention', 'apply'], () => problem(503, 'AG_ERR_AUDIT_UNAVAILABLE', 'kafka down'));
  assert.equal(down.exit, EXIT.failure);
  assert.match(down.stderr, /AG_ERR_AUDIT_UNAVAILABLE/);
});

test('hold add without --reason, or with an empty one, is a usage error and sends nothing', async () => {
  for (const argv of [
    ['hold', 'add', 's'],
    ['hold', 'add', 's', '--reason', ' '],
    ['hold', 'remove', 's'],
  ]) {
    const r = await cli(argv, () => ({ status: 201, body: {} }));
    assert.equal(r.exit, EXIT.usage, argv.join(' '));
    assert.deepEqual(r.sent, []);
  }
});

test('retention apply sends --older-than in days and --dry-run; without them, the API default', async () => {
  const plan = {
    olderThanDays: 400,
    cutoff: '2024-10-24T12:00:00.000Z',
    cutoffUs: 1,
    dryRun: true,
    partitions: [
      { partition: '202401', action: 'keep', tables: ['events', 'sessions_state'], rows: 10, heldSessions: ['s-1'] },
      { partition: '202402', action: 'drop', tables: ['events'], rows: 20, heldSessions: [] },
    ],
  };
  const r = await cli(['retention', 'apply', '--older-than', '400d', '--dry-run'], () => ({ status: 200, body: plan }));
  assert.equal(r.exit, EXIT.ok, r.stderr);
  assert.deepEqual(r.sent[0]?.body, { olderThanDays: 400, dryRun: true });
  assert.equal(r.sent[0]?.url, 'http://127.0.0.1:18082/v1/retention/apply');
  assert.match(r.stderr, /dry run, nothing recorded or dropped/);
  assert.match(r.stdout, /^MONTH +ACTION +EVENTS +TABLES +HELD SESSIONS\n202401 +would keep +10 +2 +s-1\n202402 +would drop +20 +1\n$/);
  const plain = await cli(['retention', 'apply', '--json'], () => ({ status: 200, body: { ...plan, dryRun: false } }));
  assert.deepEqual(plain.sent[0]?.body, { dryRun: false });
  assert.deepEqual(JSON.parse(plain.stdout), { ...plan, dryRun: false });
});

test('retention apply refuses an age under 31 days or not in days, before sending anything (2)', async () => {
  for (const age of ['30d', '7', '1y', '-400d', '400days']) {
    const r = await cli(['retention', 'apply', '--older-than', age], () => ({ status: 200, body: {} }));
    assert.equal(r.exit, EXIT.usage, age);
    assert.match(r.stderr, /--older-than/);
    assert.deepEqual(r.sent, []);
  }
});

test('every subcommand has Examples in its help and takes --json', async () => {
  for (const argv of [
    ['hold', 'add'],
    ['hold', 'remove'],
    ['hold', 'list'],
    ['retention', 'apply'],
  ]) {
    const r = await cli([...argv, '--help'], () => ({ status: 200, body: {} }));
    assert.equal(r.exit, EXIT.ok);
    assert.match(r.stdout, /Examples:/, argv.join(' '));
    assert.match(r.stdout, /^ {2}--json +print one JSON document/m, argv.join(' '));
  }
  for (const name of ['hold', 'retention']) {
    const r = await cli([name, '--help'], () => ({ status: 200, body: {} }));
    assert.match(r.stdout, /Examples:/, name);
  }
});
