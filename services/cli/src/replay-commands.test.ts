import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplayRow } from '@agentgate/audit-report';
import { GatewayError } from '@agentgate/errors';
import { Command } from 'commander';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { registerReplay } from './replay-commands.js';

const T0 = 1_795_000_000_000_000;

function rows(session: string): ReplayRow[] {
  const base = {
    session_id: session,
    subject: 'dave',
    actor: 'demo-agent',
    actor_chain: ['dave', 'demo-agent'],
    request_id: '',
    protocol: 'postgres',
    connection: '',
    statement_kind: '',
    sql_text: '',
    decision: '',
    rule_id: '',
    policy_version: 'v1',
    shadow: 0,
    outcome: '',
    row_count: '0',
    error_code: '',
    payload_json: '{}',
  };
  return [
    { ...base, event_id: 'e0', event_type: 'SessionOpened', seq: '0', time_us: String(T0), connection: 'demo' },
    {
      ...base,
      event_id: 'e1',
      event_type: 'RequestObserved',
      seq: '1',
      time_us: String(T0 + 10),
      request_id: 'r1',
      statement_kind: 'DropStmt',
      sql_text: 'DROP TABLE users',
    },
    {
      ...base,
      event_id: 'e2',
      event_type: 'VerdictIssued',
      seq: '2',
      time_us: String(T0 + 20),
      request_id: 'r1',
      decision: 'deny',
      rule_id: 'no-ddl',
    },
  ];
}

async function run(args: string[], answer: (sql: string) => Promise<unknown[]>) {
  const out: string[] = [];
  const err: string[] = [];
  const queries: string[] = [];
  let exit: number | undefined;
  let closed = 0;
  const audit: AuditReader = {
    async rows<T>(query: string): Promise<T[]> {
      queries.push(query);
      return (await answer(query)) as T[];
    },
    async close() {
      closed++;
    },
  };
  const program = new Command('agentgate').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  registerReplay(program, {
    io: { out: (s) => out.push(s), err: (s) => err.push(s) },
    configOf: () => ({ clickhouseDatabase: 'agentgate' }) as CliConfig,
    async withAudit(fn) {
      try {
        return await fn(audit);
      } finally {
        await audit.close();
      }
    },
    setExit: (code) => {
      exit = code;
    },
  });
  await program.parseAsync(['replay', ...args], { from: 'user' });
  return { out: out.join(''), err: err.join(''), exit, queries, closed };
}

test('prints the transcript text and exits 0', async () => {
  const r = await run(['s1'], async () => rows('s1'));
  assert.equal(r.exit, 0);
  assert.ok(r.out.includes('Session s1'));
  assert.ok(r.out.includes('  > DROP TABLE users'));
  assert.ok(r.out.includes('verdict: deny (rule no-ddl'));
  assert.equal(r.err, '');
  assert.equal(r.closed, 1);
});

test('--json prints one JSON document of the transcript', async () => {
  const r = await run(['s1', '--json'], async () => rows('s1'));
  assert.equal(r.exit, 0);
  const t = JSON.parse(r.out) as { sessionId: string; requests: { verdict: { decision: string } }[] };
  assert.equal(t.sessionId, 's1');
  assert.equal(t.requests[0]?.verdict.decision, 'deny');
});

test('exits 3 when the session has no stored events, saying so on stderr', async () => {
  const r = await run(['nope', '--json'], async () => []);
  assert.equal(r.exit, 3);
  assert.equal(r.out, '');
  assert.match(r.err, /NOTHING TO REPLAY/);
});

test('the session id reaches the query as one quoted literal', async () => {
  const hostile = "s'); DROP TABLE x; --\\";
  const r = await run([hostile], async () => []);
  assert.equal(r.exit, 3);
  assert.equal(r.queries.length, 1);
  const q = r.queries[0]!;
  assert.ok(q.includes("session_id = 's\\'); DROP TABLE x; --\\\\'"), q);
  assert.equal(q.includes("'s'); DROP"), false);
  assert.ok(q.includes('FROM `agentgate`.events'));
});

test('a ClickHouse failure exits 1 with its code', async () => {
  const r = await run(['s1'], async () => {
    throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'ClickHouse at http://x is unreachable (ECONNREFUSED)');
  });
  assert.equal(r.exit, 1);
  assert.match(r.err, /AG_ERR_AUDIT_UNAVAILABLE/);
  assert.equal(r.out, '');
});

test('an empty session id is a usage error', async () => {
  await assert.rejects(
    run([''], async () => []),
    (e: { code?: string }) => e.code === 'commander.invalidArgument',
  );
});
