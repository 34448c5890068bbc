// Real clients through the gateway, compared with a direct connection to the target:
// psql with meta-commands, transactions and \copy; node-postgres with prepared statements,
// binary results, COPY both ways, cancel and LISTEN/NOTIFY; a million-row result with the
// ingress's memory measured; and the audit log counted against pg_stat_statements.
// Reads run as demo-agent on demo. What needs a table of its own (TEMP tables: DDL, which the
// demo policy refuses on demo) runs as dba-agent on scratch, where the policy allows it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { quoteString } from '@agentgate/clickhouse';
import { ROOT, clickhouse, countsReaching, eventually, pgConfig, psql, stack, targetQuery, token, uniqueMarker } from '../support/stack.js';

const ch = clickhouse();
after(() => ch.close());

/** A connection of the gateway, the agent used on it, and the target login the gateway uses for that agent there. */
interface Login {
  database: string;
  agent: string;
  targetRole: string;
  targetPasswordFile: string;
}
// demo-agent's sessions log in as demo's read-write role, dba-agent's on scratch as scratch's
// role; each reference uses the same role.
const DEMO: Login = {
  database: 'demo',
  agent: 'demo-agent',
  targetRole: 'agentgate_demo_rw',
  targetPasswordFile: 'target-demo-rw-password',
};
const SCRATCH: Login = {
  database: 'scratch',
  agent: 'dba-agent',
  targetRole: 'agentgate_scratch',
  targetPasswordFile: 'target-scratch-password',
};

function targetPassword(login: Login): string {
  return readFileSync(join(stack.secretsDir, login.targetPasswordFile), 'utf8').trim();
}

/** psql through the gateway as the login's agent. */
function psqlThrough(args: string[], login: Login, applicationName: string): ReturnType<typeof psql> {
  return psql(args, { applicationName, database: login.database, password: token(login.agent) });
}

/** psql straight to the target with the gateway's own login for the agent: the reference output. */
function psqlDirect(args: string[], login: Login): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'psql',
      ['-X', `host=127.0.0.1 port=${stack.targetPort} dbname=${login.database} user=${login.targetRole} sslmode=require`, ...args],
      {
        env: { ...process.env, PGPASSWORD: targetPassword(login) },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end();
  });
}

async function client(applicationName: string, login: Login = DEMO): Promise<pg.Client> {
  const c = new pg.Client(pgConfig({ applicationName, database: login.database, user: login.agent, password: token(login.agent) }));
  c.on('error', () => {});
  await c.connect();
  return c;
}

test('psql: meta-commands, \\x, a failed transaction rolled back, \\copy both ways and multi-statement strings match a direct connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ag-psql-'));
  const csv = join(dir, 'customers.csv');
  // What an agent does on demo: psql's catalog queries, reads, \copy out, several statements in one string.
  const demoScript = join(dir, 'demo.sql');
  writeFileSync(
    demoScript,
    [
      '\\d public.customers',
      '\\dt public.*',
      '\\x on',
      'select id, name, phone from public.customers where id = 7;',
      '\\x off',
      `\\copy (select id, name from public.customers where id <= 25 order by id) to '${csv}' csv`,
      "select 1 as one; select 2 as two; select count(*) from public.orders where status = 'paid';",
      '',
    ].join('\n'),
  );
  // What needs tables of its own (TEMP tables are DDL, refused on demo): dba-agent on scratch.
  const scratchScript = join(dir, 'scratch.sql');
  writeFileSync(
    scratchScript,
    [
      'begin;',
      'create temp table t_tx (id int);',
      'insert into t_tx values (1);',
      'select 1/0;',
      'rollback;',
      "select count(*) as after_rollback from pg_tables where tablename = 't_tx';",
      'create temp table t_import (id bigint, name text);',
      `\\copy t_import from '${csv}' csv`,
      'select count(*), min(id), max(id) from t_import;',
      '',
    ].join('\n'),
  );

  const through = await psqlThrough(['-f', demoScript], DEMO, uniqueMarker('e2e_psql_script'));
  // Read before the direct run writes the same file.
  const exported = readFileSync(csv, 'utf8');
  const direct = await psqlDirect(['-f', demoScript], DEMO);
  assert.equal(through.stdout, direct.stdout);
  assert.doesNotMatch(through.stderr, /ERROR/);
  assert.match(through.stdout, /Table "public.customers"/);
  assert.match(through.stdout, /-\[ RECORD 1 \]-/);
  assert.match(through.stdout, /COPY 25\n/);
  assert.equal(exported.split('\n').filter(Boolean).length, 25);
  assert.equal(readFileSync(csv, 'utf8'), exported, 'the same rows as exported directly');

  const throughScratch = await psqlThrough(['-f', scratchScript], SCRATCH, uniqueMarker('e2e_psql_script_scratch'));
  const directScratch = await psqlDirect(['-f', scratchScript], SCRATCH);
  assert.equal(throughScratch.stdout, directScratch.stdout);
  assert.match(throughScratch.stdout, /after_rollback\s*\n-+\n\s+0/);
  assert.match(throughScratch.stdout, /25 \|\s+1 \|\s+25/);
  assert.match(throughScratch.stderr, /division by zero/);
  assert.doesNotMatch(throughScratch.stderr, /agentgate: statement refused/);
});

test('node-postgres: prepared statements, binary results and transactions', async () => {
  const c = await client(uniqueMarker('e2e_pg_prepared'));
  try {
    for (const id of [1, 2, 3, 42, 4999]) {
      const r = await c.query({ name: 'customer-by-id', text: 'select id, name from public.customers where id = $1', values: [id] });
      assert.equal(Number(r.rows[0].id), id);
    }
    // Results in the binary format: the same as a direct connection returns.
    const query = {
      text: 'select id::int4 as id, amount, created_at, status from public.orders where id = any($1::int8[]) order by id',
      values: [[1, 2, 3]],
      binary: true,
    } as pg.QueryConfig;
    const binary = await c.query(query);
    const direct = new pg.Client({
      host: '127.0.0.1',
      port: stack.targetPort,
      database: DEMO.database,
      user: DEMO.targetRole,
      password: targetPassword(DEMO),
      ssl: { rejectUnauthorized: false },
    });
    await direct.connect();
    const reference = await direct.query(query);
    await direct.end();
    assert.equal(binary.rows.length, 3);
    assert.ok(binary.fields.every((f) => f.format === 'binary'));
    // Dates compared to the microsecond (toJSON would drop pg's usec).
    const plain = (rows: Record<string, unknown>[]): string =>
      JSON.stringify(
        rows.map((r) =>
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [
              k,
              v instanceof Date ? `${v.toISOString()}+${(v as Date & { usec?: number }).usec ?? 0}us` : v,
            ]),
          ),
        ),
      );
    assert.equal(plain(binary.rows), plain(reference.rows));
  } finally {
    await c.end();
  }

  // Transactions on a table of its own: a TEMP table, so dba-agent on scratch.
  const s = await client(uniqueMarker('e2e_pg_tx'), SCRATCH);
  try {
    await s.query('begin');
    await s.query('create temp table t_pg (id int primary key)');
    await s.query('insert into t_pg values (1), (2)');
    await s.query('commit');
    await s.query('begin');
    await s.query('insert into t_pg values (3)');
    await assert.rejects(s.query('insert into t_pg values (3)'), (e: { code?: string }) => e.code === '23505');
    await assert.rejects(s.query('select 1'), (e: { code?: string }) => e.code === '25P02');
    await s.query('rollback');
    assert.equal((await s.query('select count(*)::int as n from t_pg')).rows[0].n, 2);
  } finally {
    await s.end();
  }
});

/** Runs a COPY ... TO STDOUT and returns every byte it sent. */
async function copyOut(c: pg.Client, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    c.query(copyTo(sql)),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}

test('node-postgres: COPY TO STDOUT and COPY FROM STDIN with pg-copy-streams', async () => {
  // COPY out of a public table to its own client: what demo-agent may do on demo.
  const c = await client(uniqueMarker('e2e_pg_copy'));
  let exported: Buffer;
  try {
    exported = await copyOut(c, 'COPY (select id, status from public.orders where id <= 1000 order by id) TO STDOUT');
  } finally {
    await c.end();
  }
  const lines = exported.toString().split('\n').filter(Boolean);
  assert.equal(lines.length, 1000);

  // COPY in needs a table of its own to land in: a TEMP table, so dba-agent on scratch.
  const s = await client(uniqueMarker('e2e_pg_copy_in'), SCRATCH);
  try {
    await s.query('create temp table t_copy (id bigint, status text)');
    await pipeline(Readable.from([exported]), s.query(copyFrom('COPY t_copy FROM STDIN')));
    assert.equal((await s.query('select count(*)::int as n from t_copy')).rows[0].n, 1000);
    // Every byte arrived as sent: copied back out, the rows are the ones copied in.
    assert.ok((await copyOut(s, 'COPY (select id, status from t_copy order by id) TO STDOUT')).equals(exported));
  } finally {
    await s.end();
  }
});

test('pg_sleep(30) cancelled from the client ends within 1 s with 57014', async () => {
  const victim = await client(uniqueMarker('e2e_cancel'));
  try {
    const running = victim.query('select pg_sleep(30)').then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    const canceller = new pg.Client(pgConfig({ applicationName: 'e2e_canceller' }));
    (canceller as unknown as { cancel(c: pg.Client, q: unknown): void }).cancel(
      victim,
      (victim as unknown as { activeQuery: unknown }).activeQuery,
    );
    const error = await running;
    const elapsed = Date.now() - started;
    assert.equal(error?.code, '57014');
    assert.ok(elapsed < 1000, `cancelled after ${elapsed} ms`);
    assert.equal((await victim.query('select 1 as v')).rows[0].v, 1, 'the session goes on after a cancel');
  } finally {
    await victim.end();
  }
});

test('LISTEN/NOTIFY through the gateway', async () => {
  const listener = await client(uniqueMarker('e2e_listen'));
  const notifier = await client(uniqueMarker('e2e_notify'));
  try {
    const channel = uniqueMarker('ch');
    const received = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
    await listener.query(`LISTEN ${channel}`);
    await notifier.query(`NOTIFY ${channel}, 'hello from an agent'`);
    const n = await Promise.race([
      received,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no notification in 5 s')), 5000)),
    ]);
    assert.equal(n.channel, channel);
    assert.equal(n.payload, 'hello from an agent');
  } finally {
    await listener.end();
    await notifier.end();
  }
});

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

test('a 1,000,000-row SELECT streams through with the ingress growing less than 100 MB, every row delivered, one response event', async (t) => {
  const pid = Number(readFileSync(join(ROOT, '.stack/run/ingress-postgres.pid'), 'utf8'));
  const before = rssBytes(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 25);
  const app = uniqueMarker('e2e_million');
  const rows = await new Promise<number>((resolve, reject) => {
    const child = spawn(
      'psql',
      [
        '-X',
        '-tA',
        `host=${stack.ingressHost} port=${stack.ingressPort} dbname=demo user=demo-agent application_name=${app} sslmode=require`,
        '-c',
        'select g, md5(g::text) from generate_series(1, 1000000) g',
      ],
      { env: { ...process.env, PGPASSWORD: pgConfig({ applicationName: app }).password } },
    );
    let count = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) count++;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(count) : reject(new Error(`psql exited ${code}`))));
  });
  clearInterval(sampler);
  assert.equal(rows, 1_000_000);
  const growth = peak - before;
  t.diagnostic(`ingress RSS ${(before / 1048576).toFixed(1)} MB before, ${(peak / 1048576).toFixed(1)} MB at its peak`);
  assert.ok(growth < 100 * 1024 * 1024, `ingress RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
  // The response and the session's close are on the same topic and partition, the close
  // after the response: once the close is projected, every response of the session is.
  const sessions = `SELECT session_id FROM ${stack.clickhouseDatabase}.events WHERE event_type = 'SessionOpened' AND payload_json LIKE ${quoteString(`%${app}%`)}`;
  await eventually(async () => {
    const r = await ch.query({
      query: `SELECT count() AS n FROM ${stack.clickhouseDatabase}.events WHERE event_type = 'SessionClosed' AND session_id IN (${sessions})`,
      format: 'JSONEachRow',
    });
    const [row] = await r.json<{ n: string }>();
    return Number(row?.n ?? 0) > 0 ? true : undefined;
  }, 20_000);
  const r = await ch.query({
    query: `SELECT row_count FROM ${stack.clickhouseDatabase}.events WHERE event_type = 'ResponseObserved' AND session_id IN (${sessions})`,
    format: 'JSONEachRow',
  });
  const responses = await r.json<{ row_count: string }>();
  assert.deepEqual(
    responses.map((x) => Number(x.row_count)),
    [1_000_000],
  );
});

test('exactly one request and one verdict per statement executed upstream, counted against pg_stat_statements', async () => {
  // A temp table of its own gives every statement below a query id no other test shares. A
  // TEMP table is DDL, which the demo policy refuses on demo: dba-agent on scratch.
  const table = uniqueMarker('t_count');
  const c = await client(uniqueMarker('e2e_counts'), SCRATCH);
  try {
    await c.query(`create temp table ${table} (id int); insert into ${table} select generate_series(1, 10)`);
    await c.query(`select count(*) from ${table}; select max(id) from ${table}`);
    for (let i = 1; i <= 5; i++) await c.query({ name: `p_${table}`, text: `select id from ${table} where id = $1`, values: [i] });
    await pipeline(
      c.query(copyTo(`COPY (select id from ${table}) TO STDOUT`)),
      new Writable({
        write(_c, _e, cb) {
          cb();
        },
      }),
    );
    await pipeline(Readable.from([Buffer.from('11\n12\n')]), c.query(copyFrom(`COPY ${table} FROM STDIN`)));
    await c.query(`select min(id) from ${table}`);
  } finally {
    await c.end();
  }
  const executed = Number(
    targetQuery(
      // The view is installed in demo and shows every database's statements.
      `select coalesce(sum(calls), 0) from pg_stat_statements where dbid = (select oid from pg_database where datname = 'scratch')
         and query like '%${table}%' and query not like '%pg_stat_statements%'`,
    ),
  );
  assert.equal(executed, 12, 'two statements per string twice, five executions, COPY out, COPY in, one more');
  // Requests and responses come from the ingress topic, verdicts from another: each count
  // reaches ClickHouse on its own schedule, so each is waited for.
  const expected = { requests: executed, verdicts: executed, ok: executed };
  const counts = await countsReaching(
    async () => {
      const r = await ch.query({
        query: `SELECT countIf(event_type = 'RequestObserved') AS requests, countIf(event_type = 'VerdictIssued') AS verdicts,
                     countIf(event_type = 'ResponseObserved' AND outcome = 'ok') AS ok
              FROM ${stack.clickhouseDatabase}.events
              WHERE request_id IN (SELECT request_id FROM ${stack.clickhouseDatabase}.events WHERE event_type = 'RequestObserved' AND sql_text LIKE ${quoteString(`%${table}%`)})`,
        format: 'JSONEachRow',
      });
      const [row] = await r.json<{ requests: string; verdicts: string; ok: string }>();
      return { requests: Number(row?.requests ?? 0), verdicts: Number(row?.verdicts ?? 0), ok: Number(row?.ok ?? 0) };
    },
    expected,
    10_000,
  );
  assert.deepEqual(counts, expected);
});
