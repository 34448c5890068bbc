// Acceptance of the walking skeleton with the real psql against the running stack:
// a query is answered through the gateway, a DROP is refused naming its rule, and the
// session, request and verdict events of both land in ClickHouse within 5 s, chained.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { clickhouse, eventually, pgConfig, psql, stack, targetQuery, uniqueMarker } from '../support/stack.js';
import { sessionEvents, sessionIdFor, verifySession, type EventRowView } from '../support/audit.js';

const ch = clickhouse();
after(() => ch.close());

const tableCount = (table: string): string => targetQuery(`select count(*) from pg_class where relname = '${table}'`);

/**
 * Runs `body` on a demo-agent session with a fresh table in demo's schema public, owned by the
 * role the session logs in as (agentgate_demo_rw): a DROP of it that reached the target would
 * be carried out. The target's admin creates it (the demo policy refuses DDL to agents), and
 * afterwards has that role drop it on the target itself, which shows the "still there" checks
 * in `body` can fail.
 */
async function withOwnTable(body: (c: pg.Client, table: string) => Promise<void>): Promise<void> {
  const table = uniqueMarker('t_drop');
  targetQuery(`create table public.${table} (id int); alter table public.${table} owner to agentgate_demo_rw`);
  const c = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_drop_own') }));
  c.on('error', () => {});
  try {
    await c.connect();
    await body(c, table);
    targetQuery(`set role agentgate_demo_rw; drop table public.${table}`);
    assert.equal(tableCount(table), '0', 'the DROP the gateway refused is one the target carries out for the role');
  } finally {
    await c.end().catch(() => {});
    targetQuery(`drop table if exists public.${table}`);
  }
}

async function eventsOf(applicationName: string, expectedTypes: string[]): Promise<EventRowView[]> {
  return eventually(
    async () => {
      const sessionId = await sessionIdFor(ch, stack.clickhouseDatabase, applicationName);
      if (!sessionId) return undefined;
      const rows = await sessionEvents(ch, stack.clickhouseDatabase, sessionId);
      const types = new Set(rows.map((r) => r.event_type));
      return expectedTypes.every((t) => types.has(t)) ? rows : undefined;
    },
    5000,
    100,
  );
}

test('select 1 through the gateway prints 1 and is recorded before and after it ran', async () => {
  const app = uniqueMarker('e2e_select');
  const result = await psql(['-tA', '-c', 'select 1'], { applicationName: app });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), '1');

  const rows = await eventsOf(app, ['SessionOpened', 'RequestObserved', 'VerdictIssued', 'ResponseObserved', 'SessionClosed']);
  assert.deepEqual(
    rows.map((r) => r.event_type),
    ['SessionOpened', 'RequestObserved', 'VerdictIssued', 'ResponseObserved', 'SessionClosed'],
  );
  const [, request, verdict, response] = rows as [EventRowView, EventRowView, EventRowView, EventRowView];
  assert.equal(request.sql_text, 'select 1');
  assert.equal(request.statement_kind, 'SelectStmt');
  assert.equal(verdict.decision, 'allow');
  assert.equal(response.outcome, 'ok');
  assert.deepEqual((JSON.parse(response.payload_json) as { sampleRows: unknown }).sampleRows, [['1']]);
  // Audit-first: the request is recorded before the verdict, the verdict before the response.
  assert.ok(request.time_us <= verdict.time_us && verdict.time_us <= response.time_us);
  assert.ok(rows.every((r) => r.hash_valid === 1));
  assert.deepEqual(verifySession(rows), { ok: true, length: 5 });
});

test('DROP TABLE is refused with 42501 naming the rule, and never reaches the target', async () => {
  const app = uniqueMarker('e2e_drop');
  const result = await psql(['-c', 'DROP TABLE public.customers'], { applicationName: app });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /ERROR:\s+42501: agentgate: statement refused by policy rule deny-ddl/);
  assert.match(result.stderr, /DETAIL:\s+code=AG_ERR_POLICY_DENIED; rule=deny-ddl/);

  const rows = await eventsOf(app, ['SessionOpened', 'RequestObserved', 'VerdictIssued', 'ResponseObserved']);
  const verdict = rows.find((r) => r.event_type === 'VerdictIssued')!;
  assert.equal(verdict.decision, 'deny');
  assert.equal(verdict.rule_id, 'deny-ddl');
  assert.equal(rows.find((r) => r.event_type === 'ResponseObserved')?.outcome, 'denied');

  // public.customers still being there proves nothing (orders reference it, so the target
  // would refuse a plain DROP itself). A DROP the target would carry out: of a table the
  // session's own role owns.
  await withOwnTable(async (c, table) => {
    await assert.rejects(c.query(`drop table ${table}`), (e: { code?: string; detail?: string }) => {
      assert.equal(e.code, '42501');
      assert.match(e.detail ?? '', /rule=deny-ddl;/);
      return true;
    });
    assert.equal(tableCount(table), '1', 'the target still has the table');
  });
});

test('a DROP hidden in a multi-statement string refuses the whole string', async () => {
  const result = await psql(['-c', 'select 1; drop table public.orders'], { applicationName: uniqueMarker('e2e_multi') });
  assert.match(result.stderr, /ERROR:\s+42501: agentgate: statement refused by policy rule deny-ddl/);
  // None of the string ran: not the DROP, and not the INSERT (which the policy allows) before it either.
  await withOwnTable(async (c, table) => {
    await assert.rejects(c.query(`insert into ${table} values (1); drop table ${table}`), (e: { code?: string; detail?: string }) => {
      assert.equal(e.code, '42501');
      assert.match(e.detail ?? '', /rule=deny-ddl;/);
      return true;
    });
    assert.equal(tableCount(table), '1', 'the target still has the table');
    assert.equal(targetQuery(`select count(*) from public.${table}`), '0', 'the target inserted nothing');
    // The INSERT alone is allowed, so the count above can see a row.
    await c.query(`insert into ${table} values (1)`);
    assert.equal(targetQuery(`select count(*) from public.${table}`), '1');
  });
});

test('an upstream error passes through unchanged and is recorded as outcome error', async () => {
  const app = uniqueMarker('e2e_upstream_error');
  const result = await psql(['-c', 'select * from no_such_table'], { applicationName: app });
  assert.match(result.stderr, /ERROR:\s+42P01: relation "no_such_table" does not exist/);
  const rows = await eventsOf(app, ['ResponseObserved']);
  const response = rows.find((r) => r.event_type === 'ResponseObserved')!;
  assert.equal(response.outcome, 'error');
  assert.equal(response.error_code, '42P01');
});

test('an unknown connection is refused with 3D000', async () => {
  const result = await psql(['-c', 'select 1'], { database: 'nope', applicationName: uniqueMarker('e2e_unknown') });
  assert.match(result.stderr, /FATAL:\s+agentgate: no connection named "nope"/);
  assert.match(result.stderr, /code=AG_ERR_CONNECTION_UNKNOWN/);
  const client = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_unknown_pg'), database: 'nope' }));
  client.on('error', () => {});
  const error = await client.connect().then(
    () => undefined,
    (e: { code?: string }) => e,
  );
  await client.end().catch(() => {});
  assert.equal(error?.code, '3D000');
});
