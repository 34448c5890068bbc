// Least privilege on the target, checked on the real PostgreSQL behind the gateway: each
// connection logs in as its own target role (deploy/connections.json, roles.sql), so
// - a dba-agent on `scratch` sees `<insufficient privilege>` for a `demo` session's query
//   and cannot terminate its backend (42501 from the target itself);
// - a readonly-agents member cannot DELETE on `demo`, whatever policy says: the demo policy
//   refuses it first, so the gateway session's role (agentgate_demo_ro, read from
//   pg_stat_activity) is also tried on the target directly, as its admin with SET ROLE, and
//   it is the target's own 42501 that refuses it; the read-write role may change rows but
//   not CREATE there either (DDL too is refused by policy first, so also tried directly);
// - demo's read-write, demo's read-only and scratch's sessions use three different roles,
//   and SessionOpened records which one.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { clickhouse, eventually, pgConfig, stack, targetQuery, token, uniqueMarker } from '../support/stack.js';
import { sessionEvents, sessionIdFor, verifySession } from '../support/audit.js';

const ch = clickhouse();
after(() => ch.close());

async function connect(identity: string, database: string, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client(pgConfig({ applicationName, database, user: identity, password: token(identity) }));
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function sqlState(promise: Promise<unknown>): Promise<{ code?: string; message?: string; detail?: string }> {
  return promise.then(
    () => ({}),
    (e: { code?: string; message?: string; detail?: string }) => e,
  );
}

/**
 * Runs `sql` on the target as its admin after SET ROLE `role`: the privileges checked are the
 * role's, as in a gateway session that logs in as it. Returns the target's error, or undefined.
 */
function asRole(role: string, sql: string): string | undefined {
  try {
    targetQuery(`set role ${role}; ${sql}`);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The target's own view (as its admin) of the backends with this application_name. */
function backendsOf(applicationName: string): { pid: number; usename: string; state: string }[] {
  const text = targetQuery(
    `select pid, usename, state from pg_stat_activity where application_name = '${applicationName}' order by pid`,
    'postgres',
  );
  return text === ''
    ? []
    : text.split('\n').map((line) => {
        const [pid, usename, state] = line.split('|');
        return { pid: Number(pid), usename: usename ?? '', state: state ?? '' };
      });
}

test('a dba-agent on scratch cannot read the SQL of a demo session nor terminate its backend', async () => {
  const demoApp = uniqueMarker('e2e_iso_demo');
  const secretMarker = uniqueMarker('secret_text');
  const demo = await connect('demo-agent', 'demo', demoApp);
  const scratch = await connect('dba-agent', 'scratch', uniqueMarker('e2e_iso_scratch'));
  // A demo statement that keeps running while scratch looks at it.
  const running = demo.query(`select pg_sleep(60), '${secretMarker}' as marker`).then(
    () => 'completed',
    (e: { code?: string }) => e.code ?? 'error',
  );
  try {
    const [backend] = await eventually(async () => {
      const rows = backendsOf(demoApp).filter((b) => b.state === 'active');
      return rows.length === 1 ? rows : undefined;
    }, 10_000);
    assert.ok(backend);
    // The admin sees the text, so there is something to hide.
    assert.match(targetQuery(`select query from pg_stat_activity where pid = ${backend.pid}`, 'postgres'), new RegExp(secretMarker));

    const seen = await scratch.query('select usename, query from pg_stat_activity where pid = $1', [backend.pid]);
    assert.equal(seen.rows.length, 1, 'scratch sees that the backend exists');
    assert.equal(seen.rows[0].query, '<insufficient privilege>');
    assert.equal(seen.rows[0].usename, 'agentgate_demo_rw');
    const everything = await scratch.query("select string_agg(coalesce(query, ''), ' ') as all_text from pg_stat_activity");
    assert.doesNotMatch(String(everything.rows[0].all_text), new RegExp(secretMarker));

    const terminate = await sqlState(scratch.query('select pg_terminate_backend($1)', [backend.pid]));
    assert.equal(terminate.code, '42501', `pg_terminate_backend: ${terminate.message}`);
    // The target's own refusal, not the gateway's policy.
    assert.doesNotMatch(`${terminate.message} ${terminate.detail}`, /agentgate|AG_ERR/);
    const cancel = await sqlState(scratch.query('select pg_cancel_backend($1)', [backend.pid]));
    assert.equal(cancel.code, '42501', `pg_cancel_backend: ${cancel.message}`);

    // The demo backend is still there, still running its statement.
    assert.deepEqual(
      backendsOf(demoApp).map((b) => [b.pid, b.state]),
      [[backend.pid, 'active']],
    );
    // And scratch's session itself is still usable after the refusals.
    assert.equal((await scratch.query('select 1 as one')).rows[0].one, 1);
  } finally {
    targetQuery(`select pg_cancel_backend(pid) from pg_stat_activity where application_name = '${demoApp}'`, 'postgres');
    assert.equal(await running, '57014', 'the demo statement ran until the admin cancelled it');
    await Promise.all([demo.end(), scratch.end()]);
  }
});

test('a readonly-agents member cannot DELETE, UPDATE or INSERT on demo: the target refuses with 42501', async () => {
  const app = uniqueMarker('e2e_iso_readonly');
  const reader = await connect('report-agent', 'demo', app);
  // Statements that would change nothing even if they were allowed (the check has been seen
  // to fail with the privileges granted): the refusal is the privilege check itself.
  const writes = [
    'delete from public.orders where id = -1',
    'delete from public.orders where id < 0',
    "update public.orders set status = 'paid' where id = -1",
    'insert into public.orders select * from public.orders where false',
  ];
  try {
    assert.equal((await reader.query('select count(*)::int as n from public.orders where id <= 10')).rows[0].n, 10);
    const before = targetQuery('select count(*) from public.orders');
    // The gateway: no rule of the demo policy lets readonly-agents write.
    for (const sql of writes) {
      const refused = await sqlState(reader.query(sql));
      assert.equal(refused.code, '42501', `${sql}: ${refused.message}`);
      assert.match(refused.detail ?? '', /code=AG_ERR_POLICY_DENIED; rule=default;/, sql);
    }
    assert.equal(targetQuery('select count(*) from public.orders'), before);
    // The target, behind it: the role this session logs in as may not write either.
    const role = backendsOf(app)[0]?.usename;
    assert.equal(role, 'agentgate_demo_ro');
    for (const sql of writes) assert.match(asRole(role, sql) ?? 'allowed by the target', /permission denied for table orders/, sql);
    assert.equal(targetQuery('select count(*) from public.orders'), before);
  } finally {
    await reader.end();
  }
});

test("demo's read-write role has DML on demo's tables but may not create objects there", async () => {
  const app = uniqueMarker('e2e_iso_rw');
  const writer = await connect('demo-agent', 'demo', app);
  try {
    // Through the gateway, the writes the demo policy allows (DELETE needs approval: tried below).
    await writer.query('begin');
    assert.equal((await writer.query('update public.orders set status = status where id = -1')).rowCount, 0);
    assert.equal((await writer.query('insert into public.orders select * from public.orders where false')).rowCount, 0);
    await writer.query('rollback');
    const role = backendsOf(app)[0]?.usename;
    assert.equal(role, 'agentgate_demo_rw');
    assert.equal(asRole(role, 'delete from public.orders where id = -1'), undefined, 'the role may DELETE');
    // CREATE: the demo policy refuses it (deny-ddl) before the target sees it ...
    const table = uniqueMarker('t_iso');
    const created = await sqlState(writer.query(`create table public.${table} (id int)`));
    assert.equal(created.code, '42501', `create table: ${created.message}`);
    assert.match(created.detail ?? '', /rule=deny-ddl/);
    assert.equal(targetQuery(`select count(*) from pg_class where relname = '${table}'`), '0');
    // ... and the target refuses it to the role itself.
    assert.match(asRole(role, `create table public.${table} (id int)`) ?? 'allowed by the target', /permission denied for schema public/);
    assert.equal(targetQuery(`select count(*) from pg_class where relname = '${table}'`), '0');
  } finally {
    await writer.end();
  }
});

test('demo and scratch sessions log in as different target roles, recorded in SessionOpened', async () => {
  const apps = {
    rw: uniqueMarker('e2e_iso_role_rw'),
    ro: uniqueMarker('e2e_iso_role_ro'),
    scratch: uniqueMarker('e2e_iso_role_scratch'),
  };
  const clients = await Promise.all([
    connect('demo-agent', 'demo', apps.rw),
    connect('report-agent', 'demo', apps.ro),
    connect('dba-agent', 'scratch', apps.scratch),
  ]);
  try {
    await Promise.all(clients.map((c) => c.query('select 1')));
    const roles = {
      rw: backendsOf(apps.rw).map((b) => b.usename),
      ro: backendsOf(apps.ro).map((b) => b.usename),
      scratch: backendsOf(apps.scratch).map((b) => b.usename),
    };
    assert.deepEqual(roles, { rw: ['agentgate_demo_rw'], ro: ['agentgate_demo_ro'], scratch: ['agentgate_scratch'] });
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  for (const [key, role] of [
    ['rw', 'agentgate_demo_rw'],
    ['ro', 'agentgate_demo_ro'],
    ['scratch', 'agentgate_scratch'],
  ] as const) {
    const rows = await eventually(async () => {
      const sessionId = await sessionIdFor(ch, stack.clickhouseDatabase, apps[key]);
      return sessionId ? sessionEvents(ch, stack.clickhouseDatabase, sessionId) : undefined;
    }, 10_000);
    const opened = rows.find((r) => r.event_type === 'SessionOpened');
    assert.equal((JSON.parse(opened?.payload_json ?? '{}') as { targetUser?: string }).targetUser, role);
    assert.deepEqual(verifySession(rows.filter((r) => r.seq === 0)), { ok: true, length: 1 });
  }
});

test('refusals name only the connections the agent may use', async () => {
  const refusal = async (database: string): Promise<{ code?: string; message?: string }> => {
    const client = new pg.Client(
      pgConfig({ applicationName: uniqueMarker('e2e_iso_refused'), database, user: 'report-agent', password: token('report-agent') }),
    );
    client.on('error', () => {});
    const error = await sqlState(client.connect());
    await client.end().catch(() => {});
    return error;
  };
  const unknown = await refusal('no_such_connection');
  assert.equal(unknown.code, '3D000');
  assert.match(unknown.message ?? '', /connections you may use: demo$/);
  const forbidden = await refusal('scratch');
  assert.equal(forbidden.code, '28000');
  assert.match(forbidden.message ?? '', /connections you may use: demo$/);
  for (const message of [unknown.message, forbidden.message]) assert.doesNotMatch(message ?? '', /secrets|file:|password|agentgate_/);
});
