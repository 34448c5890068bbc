// The audit API against the real ClickHouse: a scratch database with the live events table's
// own DDL (asked from the server, not copied), rows whose text fields hold injection payloads,
// and searches and a replay through the HTTP routes. The scratch database is dropped after.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClickHouse, quoteIdentifier } from '@agentgate/clickhouse';
import type { Actor } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { auditActor, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { buildAuditApp } from './app.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const passwordFile = process.env['AG_CLICKHOUSE_PASSWORD_FILE'];
const ch = createClickHouse({
  url: process.env['AG_CLICKHOUSE_URL'] ?? 'http://127.0.0.1:18123',
  database: 'default',
  username: process.env['AG_CLICKHOUSE_USER'] ?? 'default',
  password: passwordFile ? readFileSync(passwordFile, 'utf8').trim() : '',
});
const SCRATCH = `audit_api_test_${randomBytes(6).toString('hex')}`;
const DB = quoteIdentifier(SCRATCH);

const PAYLOADS: readonly string[] = [
  "'",
  "''",
  "\\'",
  '\\',
  'tail\\',
  "'); DROP TABLE x; --",
  "' OR 1=1 --",
  '%s %n {0}',
  '%_%',
  'nul\0byte',
  'line\nbreak\ttab',
  'ÜNÏCÖDÉ 🙂 中文',
  '`backquote`',
  '"double"',
  `${"'\\".repeat(200)}${'x'.repeat(2000)}`,
];

const T0 = 1_795_000_000_000_000;

interface Seeded {
  requestId: string;
  sessionId: string;
  subject: string;
  connection: string;
  text: string;
  decision: string;
  timeUs: number;
}

let seq = 0;
function eventRow(fields: Record<string, unknown>, payload: object): Record<string, unknown> {
  const timeUs = fields['time_us'] as number;
  return {
    event_id: `ev-${++seq}`,
    event_date: new Date(timeUs / 1000).toISOString().slice(0, 10),
    producer: 'int-test',
    prev_hash: '',
    hash: '',
    hash_valid: 1,
    actor_issuer: 'https://idp.example',
    actor_groups: [],
    actor_chain: [],
    token_id: '',
    canonical_text: '',
    kafka_topic: 't',
    kafka_partition: 0,
    kafka_offset: seq,
    projected_at: '2026-11-28 00:00:00',
    policy_version: 'v1',
    ...fields,
    payload_json: JSON.stringify(payload),
  };
}

/** One session per payload: the payload is its identity, connection and part of its statement text. */
function seedRows(): { rows: Record<string, unknown>[]; seeded: Seeded[] } {
  const rows: Record<string, unknown>[] = [];
  const seeded: Seeded[] = [];
  PAYLOADS.forEach((payload, i) => {
    const sessionId = `s-${i}`;
    const requestId = `r-${i}`;
    const timeUs = T0 + i * 1_000_000;
    const text = `SELECT * FROM t WHERE note = '${payload}'`;
    const decision = i % 2 === 0 ? 'allow' : 'deny';
    const common = { session_id: sessionId, subject: payload, actor: `agent-${i}`, protocol: 'postgres' };
    rows.push(
      eventRow({ ...common, event_type: 'SessionOpened', seq: 0, time_us: timeUs, connection: payload }, { connection: payload }),
      eventRow(
        {
          ...common,
          event_type: 'RequestObserved',
          seq: 1,
          time_us: timeUs + 10,
          request_id: requestId,
          statement_kind: 'SelectStmt',
          sql_text: text,
        },
        { connection: payload, detail: { 'agentgate.v1.SqlRequest': { text } }, protocol: 'postgres', requestId },
      ),
      eventRow(
        {
          ...common,
          event_type: 'VerdictIssued',
          seq: 2,
          time_us: timeUs + 20,
          request_id: requestId,
          decision,
          rule_id: `rule-${payload}`,
        },
        {},
      ),
      // A shadow policy's opposite verdict, later in the chain: never the one searched by.
      eventRow(
        {
          ...common,
          event_type: 'VerdictIssued',
          seq: 4,
          time_us: timeUs + 30,
          request_id: requestId,
          decision: decision === 'allow' ? 'deny' : 'allow',
          shadow: 1,
        },
        {},
      ),
      eventRow(
        {
          ...common,
          event_type: 'ResponseObserved',
          seq: 3,
          time_us: timeUs + 500,
          request_id: requestId,
          outcome: decision === 'allow' ? 'ok' : 'denied',
          row_count: 1,
        },
        { sampleRows: [[payload]], masking: [] },
      ),
    );
    seeded.push({ requestId, sessionId, subject: payload, connection: payload, text, decision, timeUs: timeUs + 10 });
  });
  return { rows, seeded };
}

/** A session with a masked SELECT, a denied statement and an approved DELETE (acceptance 6). */
function replaySession(): Record<string, unknown>[] {
  const s = { session_id: 'replay-1', subject: 'dave', actor: 'demo-agent', protocol: 'postgres' };
  const t = T0 + 100_000_000;
  return [
    eventRow(
      { ...s, event_type: 'SessionOpened', seq: 0, time_us: t, connection: 'demo' },
      { connection: 'demo', clientAddress: '10.0.0.7' },
    ),
    eventRow(
      {
        ...s,
        event_type: 'RequestObserved',
        seq: 1,
        time_us: t + 10,
        request_id: 'q1',
        statement_kind: 'SelectStmt',
        sql_text: 'SELECT email FROM users',
      },
      {},
    ),
    eventRow({ ...s, event_type: 'VerdictIssued', seq: 2, time_us: t + 20, request_id: 'q1', decision: 'allow', rule_id: 'mask-pii' }, {}),
    eventRow(
      { ...s, event_type: 'ResponseObserved', seq: 3, time_us: t + 90, request_id: 'q1', outcome: 'ok', row_count: 1 },
      { columns: [{ name: 'email', typeOid: 25 }], sampleRows: [['***@***']], masking: [{ count: 1, key: 'column:public.users.email' }] },
    ),
    eventRow(
      {
        ...s,
        event_type: 'RequestObserved',
        seq: 4,
        time_us: t + 100,
        request_id: 'q2',
        statement_kind: 'DropStmt',
        sql_text: 'DROP TABLE users',
      },
      {},
    ),
    eventRow({ ...s, event_type: 'VerdictIssued', seq: 5, time_us: t + 110, request_id: 'q2', decision: 'deny', rule_id: 'no-ddl' }, {}),
    eventRow(
      {
        ...s,
        event_type: 'ResponseObserved',
        seq: 6,
        time_us: t + 120,
        request_id: 'q2',
        outcome: 'denied',
        error_code: 'AG_ERR_POLICY_DENIED',
      },
      {},
    ),
    eventRow(
      {
        ...s,
        event_type: 'RequestObserved',
        seq: 7,
        time_us: t + 200,
        request_id: 'q3',
        statement_kind: 'DeleteStmt',
        sql_text: 'DELETE FROM orders WHERE id = 7',
      },
      {},
    ),
    // The pending verdict does not name the approval here: the ApprovalRequested that names q3 does.
    eventRow(
      {
        ...s,
        event_type: 'VerdictIssued',
        seq: 8,
        time_us: t + 210,
        request_id: 'q3',
        decision: 'pending_approval',
        rule_id: 'approve-deletes',
      },
      {},
    ),
    eventRow(
      {
        session_id: 'ap-1',
        subject: 'demo-agent',
        actor: 'demo-agent',
        event_type: 'ApprovalRequested',
        seq: 0,
        time_us: t + 220,
        request_id: 'q3',
        decision: 'pending_approval',
      },
      { approverGroups: ['approvers'] },
    ),
    eventRow(
      {
        session_id: 'ap-1',
        subject: 'bob',
        actor: 'bob',
        event_type: 'ApprovalDecided',
        seq: 1,
        time_us: t + 5_000_000,
        decision: 'approve',
      },
      { comment: 'ok' },
    ),
    eventRow(
      {
        session_id: 'ap-1',
        subject: 'approval-service',
        actor: 'approval-service',
        event_type: 'ApprovalResolved',
        seq: 2,
        time_us: t + 5_000_010,
        outcome: 'approved',
      },
      { decidedBy: ['bob'] },
    ),
    eventRow(
      {
        ...s,
        event_type: 'VerdictIssued',
        seq: 9,
        time_us: t + 5_000_100,
        request_id: 'q3',
        decision: 'allow',
        rule_id: 'approve-deletes',
      },
      {},
    ),
    eventRow(
      { ...s, event_type: 'ResponseObserved', seq: 10, time_us: t + 5_000_900, request_id: 'q3', outcome: 'ok', row_count: 1 },
      { commandTags: ['DELETE 1'] },
    ),
    // A statement run under a window grant asked for by another session: only its verdict names the approval.
    eventRow(
      {
        ...s,
        event_type: 'RequestObserved',
        seq: 11,
        time_us: t + 6_000_000,
        request_id: 'q4',
        statement_kind: 'DeleteStmt',
        sql_text: 'DELETE FROM orders WHERE id = 8',
      },
      {},
    ),
    eventRow(
      {
        ...s,
        event_type: 'VerdictIssued',
        seq: 12,
        time_us: t + 6_000_010,
        request_id: 'q4',
        decision: 'allow',
        rule_id: 'approve-deletes',
      },
      { approvalId: 'ap-2' },
    ),
    eventRow(
      {
        session_id: 'ap-2',
        subject: 'planner',
        actor: 'planner',
        event_type: 'ApprovalRequested',
        seq: 0,
        time_us: t + 1000,
        request_id: 'elsewhere',
      },
      { approverGroups: ['approvers'] },
    ),
    eventRow(
      {
        session_id: 'ap-2',
        subject: 'carol',
        actor: 'carol',
        event_type: 'ApprovalDecided',
        seq: 1,
        time_us: t + 2000,
        decision: 'approve',
      },
      {},
    ),
  ];
}

const TOKENS: Record<string, Actor> = {
  auditor: { subject: 'ivy', issuer: 'x', groups: ['auditors'], actChain: [], tokenId: null, authMethod: 'oidc-access-token' },
};

async function app(verifyToken?: (token: string) => Promise<Actor>) {
  return buildAuditApp({
    trustedKeys: async () => [],
    verifyToken:
      verifyToken ??
      (async (token) => {
        const who = TOKENS[token];
        if (who === undefined) throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
        return who;
      }),
    async query<T>(sql: string): Promise<T[]> {
      const result = await ch.query({ query: sql, format: 'JSONEachRow' });
      return result.json<T>();
    },
    database: SCRATCH,
    auditorGroup: 'auditors',
  });
}

let seeded: Seeded[] = [];

before(async () => {
  const [show] = await (await ch.query({ query: 'SHOW CREATE TABLE agentgate.events', format: 'JSONEachRow' })).json<{
    statement: string;
  }>();
  assert.ok(show, 'agentgate.events exists (start the stack)');
  const ddl = show.statement.replace(/^CREATE TABLE\s+\S+/, `CREATE TABLE ${DB}.events`);
  assert.notEqual(ddl, show.statement);
  await ch.command({ query: `CREATE DATABASE ${DB}` });
  await ch.command({ query: ddl });
  const data = seedRows();
  seeded = data.seeded;
  await ch.insert({ table: `${DB}.events`, values: [...data.rows, ...replaySession()], format: 'JSONEachRow' });
});

after(async () => {
  await ch.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await ch.close();
});

interface Found {
  requestId: string;
  subject: string;
  connection: string;
  text: string;
  verdict: { decision: string; ruleId: string } | null;
}

async function search(server: Awaited<ReturnType<typeof app>>, params: Record<string, string>): Promise<Found[]> {
  const res = await server.inject({
    method: 'GET',
    url: `/v1/requests?${new URLSearchParams({ limit: '1000', ...params })}`,
    headers: { authorization: 'Bearer auditor' },
  });
  assert.equal(res.statusCode, 200, `${JSON.stringify(params)}: ${res.body}`);
  return (res.json() as { requests: Found[] }).requests;
}

const ids = (found: readonly { requestId: string }[]): string[] => found.map((f) => f.requestId).sort();
const payloadsOnly = (found: readonly Found[]): Found[] => found.filter((f) => f.requestId.startsWith('r-'));

test('the scratch table has the live DDL and the rows went in intact', async () => {
  const [row] = await (
    await ch.query({ query: `SELECT count() AS n FROM ${DB}.events WHERE event_type = 'RequestObserved'`, format: 'JSONEachRow' })
  ).json<{ n: string }>();
  assert.equal(Number(row?.n), PAYLOADS.length + 4);
});

test('every payload as identity, connection and text finds exactly the right requests, never an error', async () => {
  const server = await app();
  for (const s of seeded) {
    const what = JSON.stringify(s.subject).slice(0, 60);
    const byIdentity = await search(server, { identity: s.subject });
    assert.deepEqual(ids(byIdentity), [s.requestId], `identity ${what}`);
    // The stored values come back byte for byte.
    assert.equal(byIdentity[0]?.subject, s.subject);
    assert.equal(byIdentity[0]?.text, s.text);
    assert.equal(byIdentity[0]?.connection, s.connection, `connection column of ${what}`);
    assert.deepEqual(ids(await search(server, { connection: s.connection })), [s.requestId], `connection ${what}`);
    const payload = s.subject;
    const expected = seeded.filter((o) => o.text.toLowerCase().includes(payload.toLowerCase())).map((o) => o.requestId);
    assert.deepEqual(ids(payloadsOnly(await search(server, { text: payload }))), expected.sort(), `text ${what}`);
  }
});

test('LIKE wildcards in text are literal; case is ignored, unicode included', async () => {
  const server = await app();
  assert.deepEqual(ids(await search(server, { text: '%_%' })), ['r-8']);
  assert.deepEqual(ids(await search(server, { text: 'ünïcödé 🙂' })), ['r-11']);
  assert.deepEqual(await search(server, { text: 'no statement has this' }), []);
});

test('decision, kind and time filters; newest first; paging', async () => {
  const server = await app();
  const denied = payloadsOnly(await search(server, { decision: 'deny' }));
  assert.deepEqual(
    ids(denied),
    seeded
      .filter((s) => s.decision === 'deny')
      .map((s) => s.requestId)
      .sort(),
  );
  assert.ok(denied.every((d) => d.verdict?.decision === 'deny'));
  assert.ok(denied.every((d) => (d as Found & { shadowVerdicts: number }).shadowVerdicts === 1));
  assert.deepEqual(ids(await search(server, { kind: 'DeleteStmt' })), ['q3', 'q4']);
  const from = new Date(seeded[2]!.timeUs / 1000).toISOString();
  const until = new Date(seeded[5]!.timeUs / 1000).toISOString();
  const window = await search(server, { from, until });
  assert.deepEqual(
    window.map((f) => f.requestId),
    ['r-4', 'r-3', 'r-2'],
  );
  const page = await search(server, { from, until, limit: '2', offset: '1' });
  assert.deepEqual(
    page.map((f) => f.requestId),
    ['r-3', 'r-2'],
  );
  // The approved DELETE is found by its final verdict, its approval joined in.
  const deletes = (await search(server, { decision: 'allow', kind: 'DeleteStmt' })) as (Found & {
    approval: { outcome: string; decisions: { by: string }[] };
  })[];
  assert.deepEqual(
    deletes.map((d) => d.requestId),
    ['q4', 'q3'],
  );
  const del = deletes[1];
  assert.equal(del?.approval.outcome, 'approved');
  assert.deepEqual(
    del?.approval.decisions.map((d) => d.by),
    ['bob'],
  );
});

test('the replay of a session shows the masked SELECT, the denied DROP and the approved DELETE in order', async () => {
  const server = await app();
  const res = await server.inject({ method: 'GET', url: '/v1/sessions/replay-1/replay', headers: { authorization: 'Bearer auditor' } });
  assert.equal(res.statusCode, 200, res.body);
  const t = res.json() as {
    requests: {
      text: string;
      verdict: { decision: string };
      approval: { decisions: { by: string }[] } | null;
      response: { sampleRows: string[][] };
    }[];
  };
  assert.deepEqual(
    t.requests.map((r) => [r.text, r.verdict.decision]),
    [
      ['SELECT email FROM users', 'allow'],
      ['DROP TABLE users', 'deny'],
      ['DELETE FROM orders WHERE id = 7', 'allow'],
      ['DELETE FROM orders WHERE id = 8', 'allow'],
    ],
  );
  assert.deepEqual(
    t.requests[3]?.approval?.decisions.map((d) => d.by),
    ['carol'],
  );
  assert.deepEqual(t.requests[0]?.response.sampleRows, [['***@***']]);
  assert.deepEqual(
    t.requests[2]?.approval?.decisions.map((d) => d.by),
    ['bob'],
  );
  const text = await server.inject({
    method: 'GET',
    url: '/v1/sessions/replay-1/replay?format=text',
    headers: { authorization: 'Bearer auditor' },
  });
  assert.ok(
    text.body.indexOf('SELECT email') < text.body.indexOf('DROP TABLE') &&
      text.body.indexOf('DROP TABLE') < text.body.indexOf('approve by bob'),
  );
  // A hostile session id is a value, not SQL.
  const hostile = await server.inject({
    method: 'GET',
    url: `/v1/sessions/${encodeURIComponent("replay-1' OR 1=1 --")}/replay`,
    headers: { authorization: 'Bearer auditor' },
  });
  assert.equal(hostile.statusCode, 404);
});

test('a real dev-IdP token: bob (auditors) is let in, dave (no groups) is not', async (t) => {
  let bob: string;
  let dave: string;
  try {
    const token = (who: string) => execFileSync(process.execPath, [`${REPO}scripts/token.mjs`, who], { encoding: 'utf8' }).trim();
    bob = token('bob');
    dave = token('dave');
  } catch {
    t.skip('the dev IdP is not running');
    return;
  }
  const verifier = createTokenVerifier(loadTrustFile(`${REPO}deploy/identity.json`));
  const server = await app(async (token) => auditActor(await verifier.verify(token)));
  const call = (token: string) =>
    server.inject({ method: 'GET', url: '/v1/requests?limit=1', headers: { authorization: `Bearer ${token}` } });
  assert.equal((await call(bob)).statusCode, 200);
  assert.equal((await call(dave)).statusCode, 403);
});
