// Protocol-level attacks through the running gateway, judged by the target's own state: every
// message that can run code is decided before it is sent, the gateway's picture of prepared
// statements and portals follows what the target confirmed, and a denial aborts the
// transaction as a server-side error would.
// The stack decides with the demo policy: demo-agent on demo may read, insert and update rows
// of public (a DELETE needs approval), no DDL, TRUNCATE or DO. Tests whose statements that policy refuses on demo (DELETE, TRUNCATE,
// DO) although refusing them is not their point run on connection scratch as dba-agent, whom
// the policy allows everything there; tests of a refusal stay on demo, with a statement the
// demo policy denies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { decodeErrorFields } from '@agentgate/pg-wire';
import { clickhouse, eventually, pgConfig, stack, targetQuery, uniqueMarker } from '../support/stack.js';
import { errorCodes, openWire, type WireSession } from '../support/wire.js';
import { quoteString } from '@agentgate/clickhouse';

/** A raw session on connection scratch as dba-agent (the demo policy allows it everything there). */
function openScratch(applicationName: string): Promise<WireSession> {
  return openWire({ application_name: applicationName, database: 'scratch' }, 'dba-agent');
}

/** Creates a table on scratch as the target's admin, owned by the role dba-agent logs in as there. */
function scratchTable(t: string, rows: number[]): void {
  const insert = rows.length > 0 ? `insert into ${t} values ${rows.map((x) => `(${x})`).join(', ')};` : '';
  targetQuery(`create table ${t} (x int); ${insert} alter table ${t} owner to agentgate_scratch;`, 'scratch');
}

async function batch(wire: WireSession, frames: Buffer[]): Promise<string[]> {
  const from = wire.frames.length;
  wire.send(Buffer.concat([...frames, serialize.sync()]));
  await wire.waitFor('Z', 10_000, from);
  return errorCodes(wire.frames.slice(from));
}

interface RecordedSql {
  text: string;
  parameters: (string | null)[];
  statementKinds: string[];
  resolvedText: string | null;
}

/** Sends one simple Query and returns the SQLSTATEs of its ErrorResponses, once ReadyForQuery arrived. */
async function simple(wire: WireSession, sql: string): Promise<string[]> {
  const from = wire.frames.length;
  wire.send(serialize.query(sql));
  await wire.waitFor('Z', 10_000, from);
  return errorCodes(wire.frames.slice(from));
}

/** The SQL details of the session's requests, in order, once `count` have reached ClickHouse. */
async function requestsOf(sessionId: string, count: number): Promise<RecordedSql[]> {
  const ch = clickhouse();
  try {
    return await eventually(async () => {
      const r = await ch.query({
        query: `SELECT payload_json FROM ${stack.clickhouseDatabase}.events WHERE session_id = ${quoteString(sessionId)} AND event_type = 'RequestObserved' ORDER BY seq`,
        format: 'JSONEachRow',
      });
      const rows = await r.json<{ payload_json: string }>();
      if (rows.length < count) return undefined;
      return rows.map((row) => {
        // Avro JSON wraps the detail union in its record name, and may wrap a nullable string too.
        const detail = Object.values((JSON.parse(row.payload_json) as { detail: Record<string, Record<string, unknown>> }).detail)[0]!;
        const resolved = detail['resolvedText'];
        return {
          text: detail['text'] as string,
          parameters: detail['parameters'] as (string | null)[],
          statementKinds: detail['statementKinds'] as string[],
          resolvedText:
            resolved === null || typeof resolved === 'string'
              ? (resolved as string | null)
              : (Object.values(resolved as Record<string, string>)[0] ?? null),
        };
      });
    }, 15_000);
  } finally {
    await ch.close();
  }
}

test('code that runs at Bind (a domain CHECK executing its parameter) is recorded and decided before the Bind is sent', async () => {
  const t = uniqueMarker('atk_bind');
  targetQuery(`create table ${t} (x int); create function ${t}_exec(text) returns boolean language plpgsql as $$ begin execute $1; return true; end $$;
    create domain ${t}_d as text check (${t}_exec(value)); grant all on ${t} to agentgate_demo_rw; alter table ${t} owner to agentgate_demo_rw;`);
  const wire = await openWire({ application_name: t });
  try {
    // Parse, Bind, Sync: no Execute at all.
    await batch(wire, [serialize.parse({ text: `select $1::${t}_d` }), serialize.bind({ values: [`drop table ${t}`] })]);
    const tableGone = targetQuery(`select count(*) from pg_class where relname = '${t}'`) === '0';
    const requests = await requestsOf(wire.sessionId!, 1);
    // Whatever the policy decided, the DROP that ran at Bind is in the log, as a bound parameter.
    assert.ok(
      requests.some((r) => r.text === `select $1::${t}_d` && r.parameters.includes(`drop table ${t}`)),
      JSON.stringify(requests),
    );
    assert.equal(tableGone, true, 'the allowed Bind ran (the demo policy lets agents SELECT): the record above is what covers it');
  } finally {
    wire.socket.destroy();
    targetQuery(`drop domain if exists ${t}_d; drop function if exists ${t}_exec(text); drop table if exists ${t}`);
  }
});

test('a re-Parse the target refuses (42P05) does not change what the gateway decides a later Bind on', async () => {
  const t = uniqueMarker('atk_reparse');
  scratchTable(t, [1]);
  const wire = await openScratch(t);
  try {
    assert.deepEqual(await batch(wire, [serialize.parse({ name: 's1', text: `delete from ${t}` })]), []);
    assert.deepEqual(await batch(wire, [serialize.parse({ name: 's1', text: 'select 1' })]), ['42P05']);
    assert.deepEqual(await batch(wire, [serialize.bind({ statement: 's1' }), serialize.execute({})]), []);
    const requests = await requestsOf(wire.sessionId!, 3);
    assert.equal(requests.at(-1)?.text, `delete from ${t}`, 'the Bind is decided on what s1 holds on the target');
    assert.equal(targetQuery(`select count(*) from ${t}`, 'scratch'), '0');
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}`, 'scratch');
  }
});

test('a Close the target skips (after an error in the batch) does not make the gateway forget the statement', async () => {
  const t = uniqueMarker('atk_close');
  scratchTable(t, [1]);
  const wire = await openScratch(t);
  try {
    await batch(wire, [serialize.parse({ name: 's1', text: `delete from ${t}` })]);
    // The Parse is allowed by the gateway and fails on the target (42P01), so the target skips the Close.
    assert.deepEqual(
      await batch(wire, [serialize.parse({ name: 'bad', text: `select * from ${t}_missing` }), serialize.close({ type: 'S', name: 's1' })]),
      ['42P01'],
    );
    await batch(wire, [serialize.bind({ statement: 's1' }), serialize.execute({})]);
    const requests = await requestsOf(wire.sessionId!, 3);
    assert.equal(requests.at(-1)?.text, `delete from ${t}`);
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}`, 'scratch');
  }
});

test('a Bind of a statement the target never confirmed is refused with 26000 and nothing runs', async () => {
  const wire = await openWire({ application_name: uniqueMarker('atk_unknown') });
  try {
    // The target answers unknown names with the same SQLSTATEs: the gateway's own code in the
    // detail is what shows the gateway refused them rather than passed them on.
    const refusals = async (frames: Buffer[]): Promise<string[]> => {
      const from = wire.frames.length;
      await batch(wire, frames);
      return wire.frames
        .slice(from)
        .filter((f) => f.type === 'E')
        .map((f) => {
          const e = decodeErrorFields(f.raw);
          return `${e.code} ${/code=(AG_ERR_\w+)/.exec(e.detail ?? '')?.[1] ?? 'from the target'}`;
        });
    };
    assert.deepEqual(await refusals([serialize.bind({ statement: 'never_parsed' }), serialize.execute({})]), [
      '26000 AG_ERR_STATEMENT_UNKNOWN',
    ]);
    assert.deepEqual(await refusals([serialize.execute({ portal: 'never_bound' })]), ['34000 AG_ERR_PORTAL_UNKNOWN']);
    // The session goes on.
    assert.deepEqual(await batch(wire, [serialize.parse({ text: 'select 1' }), serialize.bind({}), serialize.execute({})]), []);
  } finally {
    wire.socket.destroy();
  }
});

test('a denial inside BEGIN aborts the transaction as a server error would: status E, and COMMIT rolls back', async () => {
  const t = uniqueMarker('atk_tx');
  targetQuery(`create table ${t} (x int); alter table ${t} owner to agentgate_demo_rw;`);
  const client = new pg.Client(pgConfig({ applicationName: t }));
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`insert into ${t} values (1)`);
    await assert.rejects(client.query(`drop table ${t}`), (err: { code?: string }) => err.code === '42501');
    await assert.rejects(client.query('select 1'), (err: { code?: string }) => err.code === '25P02', 'the transaction is aborted');
    const commit = await client.query('commit');
    assert.equal(commit.command, 'ROLLBACK');
    assert.equal(targetQuery(`select count(*) from ${t}`), '0');
  } finally {
    await client.end().catch(() => {});
    targetQuery(`drop table if exists ${t}`);
  }
});

test('a denied Execute in an extended batch rolls back the Executes before it in the same batch', async () => {
  const t = uniqueMarker('atk_batch');
  targetQuery(`create table ${t} (x int); alter table ${t} owner to agentgate_demo_rw;`);
  const wire = await openWire({ application_name: t });
  try {
    const codes = await batch(wire, [
      serialize.parse({ text: `insert into ${t} values (1)` }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.parse({ text: `drop table ${t}` }),
      serialize.bind({}),
      serialize.execute({}),
    ]);
    assert.deepEqual(codes, ['42501']);
    assert.equal(targetQuery(`select count(*) from ${t}`), '0', 'the insert before the denial was rolled back with the batch');
    const z = wire.frames.filter((f) => f.type === 'Z').at(-1)!;
    assert.equal(String.fromCharCode(z.raw[5]!), 'I');
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}`);
  }
});

test('after SET standard_conforming_strings = off, a statement the server would lex differently is refused (0A000), also when pipelined', async () => {
  const t = uniqueMarker('atk_scs');
  targetQuery(`create table ${t} (x int); alter table ${t} owner to agentgate_demo_rw;`);
  // With standard strings one SELECT; with backslash escapes a SELECT, then a DROP, then a comment.
  const differential = `select 'a\\'' ; drop table ${t}; -- '`;
  const wire = await openWire({ application_name: t });
  try {
    const from = wire.frames.length;
    // Pipelined: both queries in one write, before the target has answered the SET.
    wire.send(Buffer.concat([serialize.query('set standard_conforming_strings = off'), serialize.query(differential)]));
    await wire.waitFor('Z', 10_000, from);
    const second = wire.frames.slice(from).findIndex((f) => f.type === 'Z');
    await wire.waitFor('Z', 10_000, from + second + 1);
    assert.deepEqual(errorCodes(wire.frames.slice(from)), ['0A000']);
    assert.equal(targetQuery(`select count(*) from pg_class where relname = '${t}'`), '1', 'the table is still there');
    // In one extended batch, the SET's Execute comes before the Parse it would change.
    const codes = await batch(wire, [
      serialize.parse({ text: 'set standard_conforming_strings = off' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.parse({ text: "select 'a\\'' as x -- '" }),
      serialize.bind({}),
      serialize.execute({}),
    ]);
    assert.deepEqual(codes, ['0A000']);
    // Back on: statements with backslashes are read as the server reads them, and pass.
    assert.deepEqual(
      await batch(wire, [serialize.parse({ text: 'set standard_conforming_strings = on' }), serialize.bind({}), serialize.execute({})]),
      [],
    );
    assert.deepEqual(await batch(wire, [serialize.parse({ text: "select 'a\\' as x" }), serialize.bind({}), serialize.execute({})]), []);
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}`);
  }
});

test('a pipelining client may use a statement whose Parse is not answered yet, and the decision waits for what the target holds', async () => {
  const t = uniqueMarker('atk_pipe');
  scratchTable(t, [1]);
  const wire = await openScratch(t);
  try {
    // Two batches in one write: the second binds the statement the first parses.
    const from = wire.frames.length;
    wire.send(
      Buffer.concat([
        serialize.parse({ name: 'p1', text: `select count(*) from ${t}` }),
        serialize.sync(),
        serialize.bind({ statement: 'p1' }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    await wire.waitFor('Z', 10_000, from);
    const first = wire.frames.slice(from).findIndex((f) => f.type === 'Z');
    await wire.waitFor('Z', 10_000, from + first + 1);
    assert.deepEqual(errorCodes(wire.frames.slice(from)), []);
    // The unnamed statement replaced while pipelined: the Bind is decided on the new text.
    await batch(wire, [serialize.parse({ text: 'select 1' })]);
    wire.send(
      Buffer.concat([
        serialize.parse({ text: `delete from ${t}` }),
        serialize.sync(),
        serialize.bind({}),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    await eventually(async () => (wire.frames.filter((f) => f.type === 'Z').length >= 5 ? true : undefined), 10_000, 20);
    const requests = await requestsOf(wire.sessionId!, 5);
    assert.equal(requests.at(-1)?.text, `delete from ${t}`, JSON.stringify(requests.map((r) => r.text)));
    assert.equal(targetQuery(`select count(*) from ${t}`, 'scratch'), '0');
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}`, 'scratch');
  }
});

test("a statement that takes the parser seconds in one session leaves another session's SELECT 1 fast", async () => {
  // Just under the gateway's 1 MiB parse limit; the parser needs seconds for a list this long.
  const heavy = `select ${'1,'.repeat(499_990)}1`;
  const busy = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_heavy') }));
  const other = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_light') }));
  busy.on('error', () => {});
  other.on('error', () => {});
  await Promise.all([busy.connect(), other.connect()]);
  try {
    await other.query('select 1');
    const heavyDone = busy.query(heavy).then(
      () => Date.now(),
      () => Date.now(),
    );
    const started = Date.now();
    const latencies: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      await other.query('select 1');
      latencies.push(performance.now() - t0);
    }
    const heavyEnded = await heavyDone;
    latencies.sort((a, b) => a - b);
    console.log(
      `SELECT 1 while a ${heavy.length}-byte statement was parsed: ${latencies.map((l) => Math.round(l)).join(' ')} ms; the long one took ${heavyEnded - started} ms`,
    );
    assert.ok(
      heavyEnded - started > latencies.reduce((a, b) => a + b, 0),
      'the long statement was still in the parser while the short ones ran',
    );
    // The issue's target is 50 ms (measured here: a median of about 35 ms); the assertion keeps
    // headroom for a loaded CI machine. A parser on the event loop stalls these for seconds.
    assert.ok(latencies[4]! < 100, `median ${latencies[4]} ms`);
  } finally {
    await Promise.all([busy.end().catch(() => {}), other.end().catch(() => {})]);
  }
});

test('SQL PREPARE/EXECUTE and DECLARE/FETCH are decided on the statement they run', async () => {
  const t = uniqueMarker('atk_prep');
  // On scratch: what is recorded for PREPARE/EXECUTE and DECLARE/FETCH, and a DO block (which the
  // demo policy refuses on demo) making a prepared statement the gateway cannot see. The test
  // below checks the refusals on demo.
  scratchTable(t, [1, 2]);
  const wire = await openScratch(t);
  try {
    assert.deepEqual(await simple(wire, `prepare p as delete from ${t} where x = 1; execute p`), []);
    assert.deepEqual(await simple(wire, `begin; declare c cursor for select * from ${t}; fetch 1 from c; commit`), []);
    const details = await requestsOf(wire.sessionId!, 6);
    const execute = details.find((d) => d.text === 'execute p');
    assert.deepEqual(execute?.resolvedText, `prepare p as delete from ${t} where x = 1`);
    assert.ok(execute?.statementKinds.includes('DeleteStmt'), JSON.stringify(execute));
    const prepare = details.find((d) => d.text.startsWith('prepare p'));
    assert.ok(prepare?.statementKinds.includes('DeleteStmt'), 'PREPARE is decided on its body');
    const fetch = details.find((d) => d.text === 'fetch 1 from c');
    assert.equal(fetch?.resolvedText, `declare c cursor for select * from ${t}`);
    // A prepared statement made where the gateway cannot see it (dynamic SQL in a DO block) is refused.
    assert.deepEqual(await simple(wire, `do $$ begin execute 'prepare hidden as delete from ${t}'; end $$`), []);
    assert.deepEqual(await simple(wire, 'execute hidden'), ['26000']);
    assert.equal(targetQuery(`select count(*) from ${t}`, 'scratch'), '1', 'only the decided DELETE ran');
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}`, 'scratch');
  }
});

test('on demo, a PREPARE or DECLARE is refused by the rule for the statement it carries, and an EXECUTE of a prepared SELECT runs', async () => {
  const t = uniqueMarker('atk_prep_demo');
  targetQuery(`create table public.${t} (x int); insert into public.${t} values (1), (2);
    grant select, insert, update, delete on public.${t} to agentgate_demo_rw;`);
  const wire = await openWire({ application_name: t });
  try {
    // The rules that refused, from the detail of each ErrorResponse of one simple Query.
    const refusedBy = async (sql: string): Promise<string[]> => {
      const from = wire.frames.length;
      await simple(wire, sql);
      return wire.frames
        .slice(from)
        .filter((f) => f.type === 'E')
        .map((f) => {
          const e = decodeErrorFields(f.raw);
          return `${e.code} ${/rule=([^;]+)/.exec(e.detail ?? '')?.[1] ?? 'no rule'}`;
        });
    };
    // An EXECUTE on its own is unknown to the policy (denied); it runs because it is judged as its SELECT.
    assert.deepEqual(await refusedBy(`prepare r as select count(*) from ${t}; execute r`), []);
    // (A DELETE would wait for approval: test/e2e/approvals.test.ts.)
    assert.deepEqual(await refusedBy(`prepare p as update ${t} set x = 1; execute p`), ['42501 agents-update-without-where']);
    assert.deepEqual(await refusedBy('begin; declare c cursor for select * from secrets.api_keys; fetch 1 from c; commit'), [
      '42501 agents-no-secrets',
    ]);
    assert.deepEqual(await refusedBy('prepare k as select count(*) from secrets.api_keys'), ['42501 agents-no-secrets']);
    assert.equal(targetQuery(`select count(*) from public.${t}`), '2', 'the refused DELETE never ran');
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists public.${t}`);
  }
});

test('under a client-only encoding (SJIS), statements with non-ASCII bytes are refused (0A000), and UTF8 brings them back', async () => {
  const wire = await openWire({ application_name: uniqueMarker('atk_sjis') });
  try {
    assert.deepEqual(await simple(wire, "set client_encoding = 'SJIS'"), []);
    assert.deepEqual(await simple(wire, "select 'ü' as x"), ['0A000']);
    assert.deepEqual(await simple(wire, 'select 1 as plain_ascii'), [], 'ASCII without backslashes lexes the same under SJIS');
    assert.deepEqual(await simple(wire, "set client_encoding = 'UTF8'"), []);
    assert.deepEqual(await simple(wire, "select 'ü' as x"), []);
  } finally {
    wire.socket.destroy();
  }
});

test('a statement ending in U+00A0 is recorded with it: the log names the table the target acts on', async () => {
  const t = uniqueMarker('atk_nbsp');
  const nbsp = `${t}\u00a0`;
  // On scratch: the demo policy refuses TRUNCATE on demo, and the point here is what is recorded.
  targetQuery(
    `create table ${t} (x int); insert into ${t} values (1); create table "${nbsp}" (x int); insert into "${nbsp}" values (1);
    alter table ${t} owner to agentgate_scratch; alter table "${nbsp}" owner to agentgate_scratch;`,
    'scratch',
  );
  const wire = await openScratch(t);
  try {
    const from = wire.frames.length;
    // Unquoted, U+00A0 is an identifier character to PostgreSQL: this truncates "t<NBSP>", not t.
    wire.send(serialize.query(`truncate ${nbsp}`));
    await wire.waitFor('Z', 10_000, from);
    assert.deepEqual(errorCodes(wire.frames.slice(from)), []);
    assert.equal(targetQuery(`select count(*) from "${nbsp}"`, 'scratch'), '0');
    assert.equal(targetQuery(`select count(*) from ${t}`, 'scratch'), '1');
    const [request] = await requestsOf(wire.sessionId!, 1);
    assert.equal(request?.text, `truncate ${nbsp}`);
  } finally {
    wire.socket.destroy();
    targetQuery(`drop table if exists ${t}; drop table if exists "${nbsp}"`, 'scratch');
  }
});

test('node-postgres in pipeline mode, with SQL cursors, works through the gateway', async () => {
  const t = uniqueMarker('e2e_pipe');
  // demo-agent on demo: an agent's client, under the policy that decides for it.
  const client = new pg.Client({ ...pgConfig({ applicationName: t }), pipeline: true } as pg.ClientConfig);
  client.on('error', () => {});
  await client.connect();
  try {
    // Sent back to back, answered in order.
    const results = await Promise.all([
      client.query('select $1::int as n', [1]),
      client.query({ name: 'named', text: 'select $1::int * 2 as n', values: [2] }),
      client.query({ name: 'named', text: 'select $1::int * 2 as n', values: [3] }),
      client.query('select $1::text as s', ['ü']),
    ]);
    assert.deepEqual(
      results.map((r) => r.rows[0]),
      [{ n: 1 }, { n: 4 }, { n: 6 }, { s: 'ü' }],
    );
    // Each FETCH is sent before the DECLARE it runs has been answered: it is decided on that
    // DECLARE's SELECT only if the gateway waits for the answer (a FETCH of a cursor the gateway
    // never saw declared is unknown to the policy, and the demo policy refuses it).
    const cursor = await Promise.allSettled([
      client.query('begin'),
      client.query('declare c cursor for select generate_series(1, 5) as i'),
      client.query('fetch 2 from c'),
      client.query('fetch 2 from c'),
      client.query('commit'),
    ]);
    const refused = cursor.flatMap((r, i) =>
      r.status === 'rejected' ? [`#${i}: ${(r.reason as { detail?: string }).detail ?? String(r.reason)}`] : [],
    );
    assert.deepEqual(refused, []);
    const rows = cursor.map((r) => (r.status === 'fulfilled' ? r.value.rows : []));
    assert.deepEqual(
      rows[2]!.concat(rows[3]!).map((r: { i: number }) => r.i),
      [1, 2, 3, 4],
    );
  } finally {
    await client.end().catch(() => {});
  }
});
