// Fast-path FunctionCall messages (libpq's lo_* functions, psql's \lo_import and \lo_export)
// through the running gateway under the demo policy: each call is resolved from its OID to the
// function it names on the target, recorded as the SELECT of that function before anything
// reaches the target, decided by the policy processor and forwarded only on allow. Judged by
// the target's own state (pg_largeobject_metadata, read directly as its admin), the bytes that
// come back, and the request events in ClickHouse.
// dba-agents keep large objects on scratch; agents on demo get deny-large-objects for the
// client-side large-object functions and deny-server-files for pg_read_file and friends.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'pg-protocol';
import { quoteString } from '@agentgate/clickhouse';
import { decodeErrorFields, decodeReadyForQuery, type BackendFrame } from '@agentgate/pg-wire';
import { clickhouse, countsReaching, eventually, psql, stack, targetQuery, token, uniqueMarker } from '../support/stack.js';
import { sessionIdFor } from '../support/audit.js';
import { errorCodes, openWire, type WireSession } from '../support/wire.js';

const db = stack.clickhouseDatabase;
const ch = clickhouse();
const work = mkdtempSync(join(tmpdir(), 'agentgate-fast-path-'));

after(async () => {
  rmSync(work, { recursive: true, force: true });
  await ch.close();
});

interface RecordedRequest {
  text: string;
  messageFlow: string;
  parameters: (string | null)[];
}

interface SessionAudit {
  requests: RecordedRequest[];
  verdicts: { decision: string; rule_id: string }[];
  responses: { outcome: string; rowCount: number }[];
}

/** The session's requests, verdicts and responses once each has reached its expected count in ClickHouse. */
async function auditOf(sessionId: string, expected: { requests: number; verdicts: number; responses: number }): Promise<SessionAudit> {
  const read = async (): Promise<SessionAudit> => {
    const r = await ch.query({
      query: `SELECT event_type, decision, rule_id, payload_json FROM ${db}.events WHERE session_id = ${quoteString(sessionId)} ORDER BY seq`,
      format: 'JSONEachRow',
    });
    const rows = await r.json<{ event_type: string; decision: string; rule_id: string; payload_json: string }>();
    const payload = (row: { payload_json: string }): Record<string, unknown> => JSON.parse(row.payload_json) as Record<string, unknown>;
    return {
      requests: rows
        .filter((row) => row.event_type === 'RequestObserved')
        .map((row) => {
          // The projection keeps the Avro union's JSON form: the branch wrapped in its full name.
          const detail = payload(row)['detail'] as Record<string, RecordedRequest>;
          const sql = detail['agentgate.v1.SqlRequest'];
          assert.ok(sql, `not a SQL request: ${row.payload_json}`);
          return { text: sql.text, messageFlow: sql.messageFlow, parameters: sql.parameters };
        }),
      verdicts: rows.filter((row) => row.event_type === 'VerdictIssued').map((row) => ({ decision: row.decision, rule_id: row.rule_id })),
      responses: rows
        .filter((row) => row.event_type === 'ResponseObserved')
        .map((row) => ({ outcome: String(payload(row)['outcome']), rowCount: Number(payload(row)['rowCount']) })),
    };
  };
  const counts = await countsReaching(
    async () => {
      const a = await read();
      return { requests: a.requests.length, verdicts: a.verdicts.length, responses: a.responses.length };
    },
    expected,
    20_000,
  );
  assert.ok(counts.requests >= expected.requests, `requests ${JSON.stringify(counts)}`);
  assert.ok(counts.verdicts >= expected.verdicts, `verdicts ${JSON.stringify(counts)}`);
  assert.ok(counts.responses >= expected.responses, `responses ${JSON.stringify(counts)}`);
  return read();
}

async function sessionOf(applicationName: string): Promise<string> {
  return eventually(() => sessionIdFor(ch, db, applicationName), 20_000);
}

/** Large objects on a target database, counted directly as the target's admin. */
function largeObjects(database: string): number {
  return Number(targetQuery('select count(*) from pg_catalog.pg_largeobject_metadata', database));
}

/** The OID of a function on the target, as the server names it (regprocedure). */
function functionOid(signature: string): number {
  return Number(targetQuery(`select ${quoteString(signature)}::regprocedure::oid`));
}

/**
 * FunctionCall: Int32 OID, Int16 1, Int16 format (one code for all arguments), Int16 n,
 * n x (Int32 length, bytes), Int16 result format.
 */
function functionCall(oid: number, args: Buffer[], format: 0 | 1): Buffer {
  const body = Buffer.concat([
    int32(oid >>> 0, true),
    int16(1),
    int16(format),
    int16(args.length),
    ...args.flatMap((a) => [int32(a.length), a]),
    int16(format),
  ]);
  return Buffer.concat([Buffer.from('F'), int32(body.length + 4), body]);
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number, unsigned = false): Buffer {
  const b = Buffer.alloc(4);
  if (unsigned) b.writeUInt32BE(n);
  else b.writeInt32BE(n);
  return b;
}

/** Sends bytes and returns the frames up to and including the next ReadyForQuery. */
async function exchange(wire: WireSession, bytes: Buffer): Promise<BackendFrame[]> {
  const from = wire.frames.length;
  wire.send(bytes);
  await wire.waitFor('Z', 15_000, from);
  return wire.frames.slice(from);
}

function readyStatus(frames: readonly BackendFrame[]): string {
  const z = frames.findLast((f) => f.type === 'Z');
  assert.ok(z, 'no ReadyForQuery');
  return decodeReadyForQuery(z.raw);
}

function errorDetail(frames: readonly BackendFrame[]): string {
  const e = frames.find((f) => f.type === 'E');
  assert.ok(e, `no ErrorResponse in ${frames.map((f) => f.type).join('')}`);
  return decodeErrorFields(e.raw).detail ?? '';
}

test('psql \\lo_import and \\lo_export as dba-agent on scratch round-trip the bytes, each fast-path call recorded by the function it names', async () => {
  const app = uniqueMarker('fastpath_dba');
  const input = join(work, 'in.bin');
  const output = join(work, 'out.bin');
  const bytes = randomBytes(20_000);
  writeFileSync(input, bytes);
  const before = largeObjects('scratch');
  const imported = await psql(['-c', `\\lo_import '${input}'`], {
    applicationName: app,
    database: 'scratch',
    password: token('dba-agent'),
  });
  assert.equal(imported.status, 0, imported.stderr);
  const oid = /lo_import (\d+)/.exec(imported.stdout)?.[1];
  assert.ok(oid, imported.stdout);
  assert.equal(largeObjects('scratch'), before + 1);
  try {
    const exportApp = uniqueMarker('fastpath_dba_export');
    const exported = await psql(['-c', `\\lo_export ${oid} '${output}'`], {
      applicationName: exportApp,
      database: 'scratch',
      password: token('dba-agent'),
    });
    assert.equal(exported.status, 0, exported.stderr);
    assert.ok(readFileSync(output).equals(bytes), 'the exported bytes differ from the imported ones');

    // The import: BEGIN, libpq's lookup of the lo_* OIDs, then lo_creat, lo_open, lowrite (8 KiB
    // per call: three), lo_close by the fast path, then COMMIT.
    const importAudit = await auditOf(await sessionOf(app), { requests: 9, verdicts: 9, responses: 9 });
    const fastPath = importAudit.requests.filter((r) => r.messageFlow === 'function-call');
    assert.deepEqual(
      fastPath.map((r) => /^SELECT "pg_catalog"\."(\w+)"\(/.exec(r.text)?.[1]),
      ['lo_creat', 'lo_open', 'lowrite', 'lowrite', 'lowrite', 'lo_close'],
      JSON.stringify(fastPath.map((r) => r.text)),
    );
    for (const r of fastPath) assert.match(r.text, /fast-path FunctionCall of function OID \d+/);
    // libpq sends every fast-path argument binary: recorded as \x hex, capped like Bind parameters.
    const open = fastPath[1]!;
    assert.equal(open.parameters.length, 2);
    assert.equal(open.parameters[0], `\\x${Number(oid).toString(16).padStart(8, '0')}`);
    const write = fastPath[2]!;
    assert.match(write.parameters[1] ?? '', /^\\x[0-9a-f]+…$/);
    assert.ok(importAudit.verdicts.every((v) => v.decision === 'allow'));
    importAudit.requests.forEach((r, i) => {
      if (r.messageFlow === 'function-call') assert.equal(importAudit.verdicts[i]?.rule_id, 'dba-scratch');
    });
    assert.ok(importAudit.responses.every((r) => r.outcome === 'ok'));

    // The export: BEGIN, the lookup, lo_open, loread until it returns nothing (8 KiB per call:
    // three, then an empty one), lo_close, COMMIT.
    const exportAudit = await auditOf(await sessionOf(exportApp), { requests: 9, verdicts: 9, responses: 9 });
    const names = exportAudit.requests
      .filter((r) => r.messageFlow === 'function-call')
      .map((r) => /^SELECT "pg_catalog"\."(\w+)"\(/.exec(r.text)?.[1]);
    assert.deepEqual(names, ['lo_open', 'loread', 'loread', 'loread', 'loread', 'lo_close']);
    assert.ok(exportAudit.verdicts.every((v) => v.decision === 'allow'));
    // Each call's result is counted as one row of its response.
    assert.ok(exportAudit.responses.every((r) => r.outcome === 'ok'));
  } finally {
    targetQuery(`select lo_unlink(${oid})`, 'scratch');
  }
});

test('psql \\lo_import as demo-agent on demo is refused naming deny-large-objects, and nothing is written', async () => {
  const app = uniqueMarker('fastpath_demo');
  const input = join(work, 'demo-in.bin');
  writeFileSync(input, randomBytes(1000));
  const before = largeObjects('demo');
  const r = await psql(['-c', `\\lo_import '${input}'`], { applicationName: app });
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(r.stderr, /42501/);
  assert.match(r.stderr, /deny-large-objects/);
  assert.equal(largeObjects('demo'), before, 'a large object was created on demo');
  // BEGIN, libpq's lookup of the lo_* OIDs, the refused lo_creat, then psql's ROLLBACK.
  const audit = await auditOf(await sessionOf(app), { requests: 4, verdicts: 4, responses: 4 });
  const creat = audit.requests.findIndex((q) => q.messageFlow === 'function-call');
  assert.match(audit.requests[creat]?.text ?? '', /^SELECT "pg_catalog"\."lo_creat"\(\$1\)/);
  assert.deepEqual(audit.verdicts[creat], { decision: 'deny', rule_id: 'deny-large-objects' });
  assert.equal(audit.responses[creat]?.outcome, 'denied');
});

test('a hand-built FunctionCall of lo_creat outside a transaction is refused before it reaches demo, so nothing is committed', async () => {
  const wire = await openWire({ application_name: uniqueMarker('fastpath_creat') });
  try {
    const before = largeObjects('demo');
    const frames = await exchange(wire, functionCall(functionOid('lo_creat(integer)'), [int32(-1)], 1));
    // What the target holds first: a call forwarded before (or despite) its verdict commits here.
    assert.equal(largeObjects('demo'), before, 'a large object was created on demo');
    assert.deepEqual(errorCodes(frames), ['42501']);
    assert.match(errorDetail(frames), /rule=deny-large-objects/);
    assert.equal(
      frames.some((f) => f.type === 'V'),
      false,
      'the target answered the call',
    );
    assert.equal(readyStatus(frames), 'I');
  } finally {
    wire.socket.end();
  }
});

test("a hand-built FunctionCall of pg_read_file's OID as demo-agent is refused by deny-server-files and recorded as that call", async () => {
  const wire = await openWire({ application_name: uniqueMarker('fastpath_read_file') });
  try {
    const oid = functionOid('pg_read_file(text)');
    const frames = await exchange(wire, functionCall(oid, [Buffer.from('/etc/hostname')], 0));
    assert.deepEqual(errorCodes(frames), ['42501']);
    assert.match(errorDetail(frames), /rule=deny-server-files/);
    assert.equal(readyStatus(frames), 'I');
    const audit = await auditOf(wire.sessionId!, { requests: 1, verdicts: 1, responses: 1 });
    assert.deepEqual(audit.requests[0], {
      text: `SELECT "pg_catalog"."pg_read_file"($1) /* fast-path FunctionCall of function OID ${oid} */`,
      messageFlow: 'function-call',
      parameters: ['/etc/hostname'],
    });
    assert.deepEqual(audit.verdicts[0], { decision: 'deny', rule_id: 'deny-server-files' });
  } finally {
    wire.socket.end();
  }
});

test('a FunctionCall of an OID that does not exist gets 42883, aborts an open transaction as the server would, and the session goes on', async () => {
  const wire = await openWire({ application_name: uniqueMarker('fastpath_unknown') });
  try {
    const unknown = functionCall(4_000_000_000, [], 1);
    const outside = await exchange(wire, unknown);
    assert.deepEqual(errorCodes(outside), ['42883']);
    // The gateway's refusal, not the target's own 42883: the call never reached the target.
    assert.match(errorDetail(outside), /code=AG_ERR_FUNCTION_UNKNOWN/);
    assert.equal(readyStatus(outside), 'I');
    const select = await exchange(wire, serialize.query('select 1 as one'));
    assert.deepEqual(errorCodes(select), []);
    assert.ok(select.some((f) => f.type === 'D'));

    assert.equal(readyStatus(await exchange(wire, serialize.query('begin'))), 'T');
    const inside = await exchange(wire, unknown);
    assert.deepEqual(errorCodes(inside), ['42883']);
    assert.equal(readyStatus(inside), 'E');
    assert.equal(readyStatus(await exchange(wire, serialize.query('rollback'))), 'I');
    const again = await exchange(wire, serialize.query('select 1 as one'));
    assert.deepEqual(errorCodes(again), []);
  } finally {
    wire.socket.end();
  }
});

test("a user function is resolved on a lookup connection of the session's own target role, never on the agent's connection", async () => {
  const app = uniqueMarker('fastpath_user_fn');
  const fn = `fp_${app.slice(-6)}`;
  targetQuery(
    `create function public.${fn}(x int) returns int language sql immutable as 'select x + 1'; alter function public.${fn}(int) owner to agentgate_scratch;`,
    'scratch',
  );
  const wire = await openWire({ application_name: app, database: 'scratch' }, 'dba-agent');
  try {
    const oid = Number(targetQuery(`select 'public.${fn}(int)'::regprocedure::oid`, 'scratch'));
    assert.ok(oid >= 16384);
    const frames = await exchange(wire, functionCall(oid, [int32(41)], 1));
    assert.deepEqual(errorCodes(frames), []);
    const result = frames.find((f) => f.type === 'V');
    assert.ok(result, 'no FunctionCallResponse');
    assert.equal(result.raw.readInt32BE(9), 42);
    // The agent's backend never ran the catalog query; a lookup backend of the same role did.
    const agentQueries = targetQuery(
      `select coalesce(query, '') from pg_stat_activity where application_name = ${quoteString(app)}`,
      'scratch',
    );
    assert.doesNotMatch(agentQueries, /pg_proc/);
    const lookups = targetQuery(
      `select usename from pg_stat_activity where application_name = 'agentgate function lookup' and datname = 'scratch'`,
      'scratch',
    );
    assert.equal(lookups, 'agentgate_scratch');
    const audit = await auditOf(wire.sessionId!, { requests: 1, verdicts: 1, responses: 1 });
    assert.equal(audit.requests[0]?.text, `SELECT "public"."${fn}"($1) /* fast-path FunctionCall of function OID ${oid} */`);
    assert.deepEqual(audit.requests[0]?.parameters, ['\\x00000029']);
    assert.deepEqual(audit.responses[0], { outcome: 'ok', rowCount: 1 });
  } finally {
    wire.socket.end();
    targetQuery(`drop function public.${fn}(int)`, 'scratch');
  }
});
