// A faithful relay: what an agent asks of its session at startup reaches the target, the
// target's own errors reach the agent exactly once, sizes PostgreSQL accepts pass, and a
// fast writer cannot grow the ingress without bound. All through the running gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { decodeErrorFields } from '@agentgate/pg-wire';
import { clickhouse, eventually, pgConfig, ROOT, stack, targetAdminPassword, targetQuery, token, uniqueMarker } from '../support/stack.js';
import { errorCodes, openWire } from '../support/wire.js';

const MiB = 1024 * 1024;

async function withClient<T>(config: pg.ClientConfig, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

test('a statement_timeout passed in options cancels a long query (57014)', async () => {
  const started = Date.now();
  await withClient({ ...pgConfig({ applicationName: 'e2e_opts_timeout' }), options: '-c statement_timeout=300' }, async (client) => {
    await assert.rejects(client.query('select pg_sleep(5)'), (err: { code?: string }) => err.code === '57014');
  });
  assert.ok(Date.now() - started < 4000, 'cancelled by the timeout, not after the sleep');
});

test("search_path, TimeZone and DateStyle from options and top-level parameters are in effect; application_name is the agent's own", async () => {
  const app = uniqueMarker('e2e_app');
  const config = {
    ...pgConfig({ applicationName: app }),
    options: '-c search_path=pg_catalog,public -c TimeZone=Asia/Tokyo -c DateStyle=SQL,\\ DMY',
    statement_timeout: 12_345,
    idle_in_transaction_session_timeout: 54_321,
  };
  const settings = await withClient(config, async (client) => {
    const r =
      await client.query(`select current_setting('search_path') as sp, current_setting('TimeZone') as tz, current_setting('DateStyle') as ds,
      current_setting('statement_timeout') as st, current_setting('idle_in_transaction_session_timeout') as it,
      (select application_name from pg_stat_activity where pid = pg_backend_pid()) as app`);
    return r.rows[0] as Record<string, string>;
  });
  assert.deepEqual(settings, { sp: 'pg_catalog,public', tz: 'Asia/Tokyo', ds: 'SQL, DMY', st: '12345ms', it: '54321ms', app });
});

test('startup parameters are recorded in SessionOpened, and the session id is reported to the client', async () => {
  const wire = await openWire({ application_name: 'e2e_recorded', options: '-c search_path=public' });
  try {
    assert.match(wire.sessionId ?? '', /^[0-9a-f-]{36}$/);
    // The first NOTICE names the session too, for clients that show notices but not parameters.
    const notices = wire.login.filter((f) => f.type === 'N').map((f) => decodeErrorFields(f.raw).message);
    assert.deepEqual(notices, [`agentgate: session ${wire.sessionId} is audited`]);
    const ch = clickhouse();
    try {
      const payload = await eventually(async () => {
        const r = await ch.query({
          query: `SELECT payload_json FROM ${stack.clickhouseDatabase}.events WHERE session_id = '${wire.sessionId}' AND event_type = 'SessionOpened'`,
          format: 'JSONEachRow',
        });
        const [row] = await r.json<{ payload_json: string }>();
        return row ? (JSON.parse(row.payload_json) as { startupParameters: { name: string; value: string }[] }) : undefined;
      }, 15_000);
      assert.deepEqual(payload.startupParameters, [
        { name: 'application_name', value: 'e2e_recorded' },
        { name: 'options', value: '-c search_path=public' },
        { name: 'client_encoding', value: 'UTF8' },
      ]);
    } finally {
      await ch.close();
    }
  } finally {
    wire.socket.destroy();
  }
});

test('a client that set client_min_messages above notice gets no login NOTICE, as the server would send none', async () => {
  const wire = await openWire({ application_name: 'e2e_quiet', options: '-c client_min_messages=warning' });
  try {
    assert.deepEqual(
      wire.login.filter((f) => f.type === 'N'),
      [],
    );
    assert.match(wire.sessionId ?? '', /^[0-9a-f-]{36}$/);
  } finally {
    wire.socket.destroy();
  }
});

test('a parameter that would change the target role is refused with 0A000, never silently dropped', async () => {
  await assert.rejects(
    withClient({ ...pgConfig({ applicationName: 'e2e_role' }), options: '-c role=agentgate_admin' }, async () => {}),
    (err: { code?: string; message: string }) => err.code === '0A000' && /role/.test(err.message),
  );
});

async function terminateFromAnotherSession(app: string, wantActive: boolean): Promise<void> {
  const state = wantActive ? "and state = 'active'" : '';
  await eventually(
    async () =>
      targetQuery(`select count(*) from pg_stat_activity where application_name = '${app}' ${state}`) === '1' ? true : undefined,
    5000,
    50,
  );
  assert.equal(targetQuery(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = '${app}'`), 't');
}

for (const flow of ['idle', 'simple', 'extended'] as const) {
  test(`pg_terminate_backend from another session yields exactly one 57P01 (${flow})`, async () => {
    const app = uniqueMarker(`e2e_term_${flow}`);
    const wire = await openWire({ application_name: app });
    if (flow === 'simple') wire.send(serialize.query('select pg_sleep(30)'));
    if (flow === 'extended') {
      wire.send(
        Buffer.concat([serialize.parse({ text: 'select pg_sleep(30)' }), serialize.bind({}), serialize.execute({}), serialize.sync()]),
      );
    }
    await terminateFromAnotherSession(app, flow !== 'idle');
    await Promise.race([wire.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('not closed within 5 s')), 5000))]);
    assert.deepEqual(errorCodes(wire.frames), ['57P01']);
  });
}

// node-postgres' end() during connect writes a Terminate before its StartupMessage. PostgreSQL
// closes without a reply; whatever the client then reports must be what it reports directly.
function connectThenEnd(config: Record<string, unknown>): { status: number | null; stdout: string; stderr: string } {
  const script = `import pg from 'pg';
    const c = new pg.Client(${JSON.stringify(config)});
    c.on('error', (e) => console.log('error event:', e.message));
    c.connect((err) => console.log('connect:', err ? err.message : 'ok'));
    await c.end();
    await new Promise((r) => setTimeout(r, 500));
    console.log('survived');`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(ROOT, 'test'), encoding: 'utf8', timeout: 15_000 });
}

test('connect-then-end (a Terminate before the startup message) behaves as it does directly, and does not crash the client', () => {
  for (const ssl of [false, true]) {
    const tls = ssl ? { ssl: { ca: readFileSync(stack.caFile, 'utf8'), servername: 'localhost' } } : { ssl: false };
    const direct = connectThenEnd({
      host: '127.0.0.1',
      port: stack.targetPort,
      database: 'demo',
      user: 'agentgate_admin',
      password: targetAdminPassword(),
      ...tls,
    });
    const gateway = connectThenEnd({ ...pgConfig({ applicationName: 'e2e_connect_end', password: token('demo-agent') }), ...tls });
    assert.equal(direct.status, 0, `direct, ssl=${ssl}: ${direct.stderr}`);
    assert.match(direct.stdout, /survived/);
    assert.deepEqual(
      { status: gateway.status, stdout: gateway.stdout },
      { status: direct.status, stdout: direct.stdout },
      `ssl=${ssl}: ${gateway.stderr}`,
    );
  }
});

test('a 70 MiB value round-trips in both protocols', async () => {
  const value = 'v'.repeat(70 * MiB);
  await withClient(pgConfig({ applicationName: 'e2e_big' }), async (client) => {
    const extended = await client.query<{ v: string }>('select $1::text as v', [value]);
    assert.equal(extended.rows[0]?.v.length, value.length);
    assert.equal(extended.rows[0]?.v, value);
    const simple = await client.query<{ v: string }>(`select repeat('v', ${70 * MiB}) as v`);
    assert.equal(simple.rows[0]?.v, value);
  });
});

test('a statement longer than the gateway parses is refused with 54000 before it reaches the target, and the session goes on', async () => {
  // Had it run, the statement would leave a temp table the target lists in pg_class while the
  // session lives. (pg_stat_statements cannot tell: statements differing only in literals and
  // column aliases share one entry, which keeps the text of the first.)
  // dba-agent on scratch, where the policy would let the statement run: on demo, deny-ddl
  // would keep it from the target too, and the check below could not fail.
  const table = uniqueMarker('t_long_sql');
  const ran = (): boolean => targetQuery(`select count(*) from pg_class where relname = '${table}'`, 'scratch') === '1';
  const scratch = { database: 'scratch', user: 'dba-agent', password: token('dba-agent') };
  await withClient(pgConfig({ applicationName: uniqueMarker('e2e_long_sql'), ...scratch }), async (client) => {
    const long = `create temp table ${table} as select '${'q'.repeat(2 * MiB)}' as x`;
    await assert.rejects(
      client.query(long),
      (err: { code?: string; message: string }) => err.code === '54000' && /AG_PG_MAX_PARSED_SQL_BYTES/.test(err.message),
    );
    await assert.rejects(client.query({ text: long, values: [] }), (err: { code?: string }) => err.code === '54000');
    assert.equal(ran(), false, 'the target never ran the statement');
    assert.deepEqual((await client.query('select 1 as one')).rows, [{ one: 1 }]);
  });
});

function ingressRssBytes(): number {
  const pid = Number(readFileSync(join(ROOT, '.stack/run/ingress-postgres.pid'), 'utf8').trim());
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

// The bound this test holds the ingress to while 1 GiB passes through it.
const COPY_RSS_GROWTH_LIMIT = 256 * MiB;

test(`1 GiB of CopyData sent while the target sleeps grows the ingress by less than ${COPY_RSS_GROWTH_LIMIT / MiB} MiB`, async () => {
  // dba-agent on scratch: the sink is a temp table, and the demo policy refuses DDL on demo.
  const wire = await openWire({ application_name: 'e2e_copy_flood', database: 'scratch' }, 'dba-agent');
  try {
    wire.send(serialize.query('create temp table copy_sink (x text)'));
    await wire.waitFor('Z', 10_000);
    assert.deepEqual(errorCodes(wire.frames), [], 'the sink was created');
    const before = ingressRssBytes();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, ingressRssBytes())), 50);
    const from = wire.frames.length;
    wire.send(serialize.query('select pg_sleep(3); copy copy_sink from stdin where false'));
    const line = `${'c'.repeat(63)}\n`;
    const chunk = serialize.copyData(Buffer.from(line.repeat((64 * 1024) / line.length)));
    let sent = 0;
    while (sent < 1024 * MiB) {
      if (!wire.socket.write(chunk)) await new Promise((r) => wire.socket.once('drain', r));
      sent += chunk.length - 5;
    }
    wire.send(serialize.copyDone());
    await wire.waitFor('Z', 120_000, from);
    clearInterval(sampler);
    assert.deepEqual(errorCodes(wire.frames), []);
    const growth = peak - before;
    console.log(
      `1 GiB of CopyData: ingress RSS ${Math.round(before / MiB)} MiB before, peak ${Math.round(peak / MiB)} MiB, ${Math.round(ingressRssBytes() / MiB)} MiB after`,
    );
    assert.ok(growth < COPY_RSS_GROWTH_LIMIT, `ingress RSS grew by ${Math.round(growth / MiB)} MiB (from ${Math.round(before / MiB)} MiB)`);
  } finally {
    wire.socket.destroy();
  }
});

test('50 sessions that stop reading a large result and disconnect leave no target backend within 10 s', async () => {
  const marker = uniqueMarker('e2e_leak');
  // report-agent: the 50 stay clear of demo-agent's own session limit.
  const sessions = await Promise.all(Array.from({ length: 50 }, () => openWire({ application_name: marker }, 'report-agent')));
  const active = (): number =>
    Number(targetQuery(`select count(*) from pg_stat_activity where application_name = '${marker}' and state = 'active'`));
  for (const [i, wire] of sessions.entries()) {
    // Far more than the socket buffers hold: the target blocks writing once we stop reading.
    wire.socket.pause();
    wire.send(serialize.query("select repeat('x', 1000) from generate_series(1, 1000000)"));
    await eventually(async () => (active() > i ? true : undefined), 10_000, 50);
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const wire of sessions) wire.socket.destroy();
  const started = Date.now();
  const left = await eventually(
    async () => {
      const n = Number(targetQuery(`select count(*) from pg_stat_activity where application_name = '${marker}'`));
      return n === 0 ? n : undefined;
    },
    10_000,
    200,
  );
  assert.equal(left, 0);
  console.log(`50 stalled sessions: their target backends were gone ${Date.now() - started} ms after the agents left`);
});
