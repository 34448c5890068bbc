import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplayRow } from '@agentgate/audit-report';
import type { Actor } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { sampleAuditLog, type StoredEventRow, type TrustedKey, type VerificationReport } from '@agentgate/audit-verify';
import { buildAuditApp } from './app.js';

function person(subject: string, groups: string[]): Actor {
  return { subject, issuer: 'https://idp.example', groups, actChain: [], tokenId: null, authMethod: 'oidc-access-token' };
}

const IDENTITIES: Record<string, Actor> = {
  bob: person('bob', ['auditors']),
  mallory: person('mallory', ['developers']),
};

const T0 = 1_795_000_000_000_000;

function replayRows(session: string): ReplayRow[] {
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
    policy_version: '',
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
      statement_kind: 'SelectStmt',
      sql_text: 'SELECT 1',
    },
  ];
}

async function harness(options: { rows?: (sql: string) => unknown[]; failQuery?: boolean; keys?: TrustedKey[] } = {}) {
  const queries: string[] = [];
  const app = await buildAuditApp({
    verifyToken: async (token) => {
      const who = IDENTITIES[token];
      if (who === undefined) throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
      return who;
    },
    async query<T>(sql: string): Promise<T[]> {
      queries.push(sql);
      if (options.failQuery) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'down');
      return (options.rows?.(sql) ?? []) as T[];
    },
    database: 'agentgate',
    trustedKeys: async () => options.keys ?? [],
    auditorGroup: 'auditors',
  });
  const get = (url: string, token?: string) =>
    app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { app, queries, get };
}

function assertProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string): void {
  assert.equal(res.statusCode, status);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json() as { code: string; status: number };
  assert.equal(body.code, code);
  assert.equal(body.status, status);
}

test('401 without a token, with a malformed header, or with a rejected token; nothing is queried', async () => {
  const { get, queries } = await harness();
  // Percent-escaped spellings of the same routes authenticate too (the router decodes them).
  for (const url of ['/v1/requests', '/v1/sessions/s1/replay', '/%76%31/requests', '/v%31/verify?since=2020-01-01T00:00:00Z', '/nowhere']) {
    const none = await get(url);
    assertProblem(none, 401, 'AG_ERR_UNAUTHENTICATED');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assertProblem(await get(url, 'nobody'), 401, 'AG_ERR_TOKEN_SIGNATURE_INVALID');
  }
  const basic = await (await harness()).app.inject({ method: 'GET', url: '/v1/requests', headers: { authorization: 'Basic Ym9iOng=' } });
  assertProblem(basic, 401, 'AG_ERR_UNAUTHENTICATED');
  assert.deepEqual(queries, []);
});

test('403 for a caller outside the auditors group; nothing is queried', async () => {
  const { get, queries } = await harness();
  assertProblem(await get('/v1/requests', 'mallory'), 403, 'AG_ERR_FORBIDDEN');
  assertProblem(await get('/v1/sessions/s1/replay', 'mallory'), 403, 'AG_ERR_FORBIDDEN');
  assert.deepEqual(queries, []);
});

test('400 problem documents for bad parameters; nothing is queried', async () => {
  const { get, queries } = await harness();
  const bad = [
    '/v1/requests?limit=0',
    '/v1/requests?limit=1001',
    '/v1/requests?limit=ten',
    '/v1/requests?offset=-1',
    '/v1/requests?from=yesterday',
    '/v1/requests?until=2026-13-01T00:00:00Z',
    '/v1/requests?from=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
    '/v1/requests?from=1960-01-01T00:00:00Z',
    "/v1/requests?decision=allow'--",
    '/v1/requests?kind=Select%20Stmt',
    '/v1/requests?text=',
    `/v1/requests?text=${'x'.repeat(4097)}`,
    '/v1/requests?identiy=bob',
    '/v1/requests?text=a&text=b',
    '/v1/sessions/s1/replay?format=pdf',
    '/v1/sessions/s1/replay?verbose=1',
  ];
  for (const url of bad) {
    const res = await get(url, 'bob');
    assert.equal(res.statusCode, 400, url);
    assertProblem(res, 400, 'AG_ERR_BAD_REQUEST');
  }
  assert.deepEqual(queries, []);
});

test('a search passes every filter to the query and answers with the joined results', async () => {
  const { get, queries } = await harness({
    rows: (sql) =>
      sql.includes('GROUP BY request_id')
        ? [
            {
              request_id: 'r1',
              session_id: 's1',
              request_time_us: String(T0),
              subject: 'dave',
              actor: 'demo-agent',
              protocol: 'postgres',
              connection: 'demo',
              statement_kind: 'DeleteStmt',
              sql_text: 'DELETE FROM t',
              decision: 'allow',
              rule_id: 'r',
              policy_version: 'v',
              live_verdicts: '2',
              shadow_verdicts: '0',
              outcome: 'ok',
              row_count: '1',
              error_code: '',
              response_time_us: String(T0 + 500),
              responses: '1',
              approval_id: 'a1',
            },
          ]
        : [
            {
              approval_id: 'a1',
              event_type: 'ApprovalResolved',
              subject: '',
              decision: '',
              outcome: 'approved',
              time_us: String(T0 + 100),
            },
          ],
  });
  const params = new URLSearchParams({
    identity: 'dave',
    connection: 'demo',
    from: '2026-01-01T00:00:00Z',
    until: '2027-01-01T00:00:00.000+01:00',
    decision: 'allow',
    kind: 'DeleteStmt',
    text: "it's 100%_\0",
    limit: '5',
    offset: '10',
  });
  const res = await get(`/v1/requests?${params}`, 'bob');
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { requests: { requestId: string; approval: { outcome: string } | null; durationUs: number }[]; limit: number };
  assert.equal(body.limit, 5);
  assert.equal(body.requests[0]?.requestId, 'r1');
  assert.equal(body.requests[0]?.approval?.outcome, 'approved');
  assert.equal(body.requests[0]?.durationUs, 500);
  assert.equal(queries.length, 2);
  const search = queries[0]!;
  assert.ok(search.includes("(subject = 'dave' OR actor = 'dave')"));
  assert.ok(search.includes("= 'demo'"));
  assert.ok(search.includes(`time_us >= ${Date.parse('2026-01-01T00:00:00Z') * 1000}`));
  assert.ok(search.includes(`time_us < ${Date.parse('2026-12-31T23:00:00Z') * 1000}`));
  assert.ok(search.includes("statement_kind = 'DeleteStmt'"));
  assert.ok(search.includes("positionCaseInsensitiveUTF8(sql_text, 'it\\'s 100%_\\0') > 0"));
  assert.ok(search.includes("v_decision = 'allow'"));
  assert.ok(search.endsWith('LIMIT 10, 5'));
  assert.ok(queries[1]!.includes("IN ('a1')"));
});

test('a search without approvals runs one query; defaults apply', async () => {
  const { get, queries } = await harness();
  const res = await get('/v1/requests', 'bob');
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { requests: [], limit: 100, offset: 0 });
  assert.equal(queries.length, 1);
  assert.ok(queries[0]!.endsWith('LIMIT 0, 100'));
});

test('replay answers JSON, text, and 404 for an unknown session; the id is quoted', async () => {
  const session = "s'1\\";
  const { get, queries } = await harness({ rows: (sql) => (sql.includes("'s\\'1\\\\'") ? replayRows(session) : []) });
  const json = await get(`/v1/sessions/${encodeURIComponent(session)}/replay`, 'bob');
  assert.equal(json.statusCode, 200, json.body);
  const t = json.json() as { sessionId: string; opened: { connection: string }; requests: { text: string }[] };
  assert.equal(t.sessionId, session);
  assert.equal(t.opened.connection, 'demo');
  assert.deepEqual(
    t.requests.map((r) => r.text),
    ['SELECT 1'],
  );
  const text = await get(`/v1/sessions/${encodeURIComponent(session)}/replay?format=text`, 'bob');
  assert.equal(text.statusCode, 200);
  assert.match(String(text.headers['content-type']), /^text\/plain/);
  assert.ok(text.body.includes('  > SELECT 1'));
  const missing = await get('/v1/sessions/nope/replay', 'bob');
  assert.equal(missing.statusCode, 404);
  assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);
  assert.equal(queries.length, 3);
});

test('ClickHouse failures are 503 AG_ERR_AUDIT_UNAVAILABLE', async () => {
  const { get } = await harness({ failQuery: true });
  assertProblem(await get('/v1/requests', 'bob'), 503, 'AG_ERR_AUDIT_UNAVAILABLE');
  assertProblem(await get('/v1/sessions/s1/replay', 'bob'), 503, 'AG_ERR_AUDIT_UNAVAILABLE');
});

test('verify: the log of the period against the trusted keys; clean, then a row removed is named; since is required', async () => {
  const log = sampleAuditLog();
  const rowsFor = (rows: StoredEventRow[]) => (sql: string) => {
    const checkpoint = (r: StoredEventRow) => r.session_id.startsWith('checkpoint/');
    if (sql.includes("session_id LIKE 'checkpoint/%'") && !sql.includes('NOT LIKE')) return rows.filter(checkpoint);
    if (sql.includes('NOT LIKE')) return rows.filter((r) => !checkpoint(r));
    return rows.filter((r) => sql.includes(`'${r.session_id}'`));
  };
  const clean = await harness({ rows: rowsFor(log.rows), keys: log.signer.trusted });
  const ok = await clean.get('/v1/verify?since=2020-01-01T00:00:00Z', 'bob');
  assert.equal(ok.statusCode, 200, ok.body);
  const report = ok.json() as VerificationReport;
  assert.equal(report.ok, true);
  assert.ok(report.checkpoints.length > 0 && report.checkpoints.every((c) => c.valid));
  const [victim] = log.rows.filter((r) => !r.session_id.startsWith('checkpoint/') && r.seq === '2');
  assert.ok(victim);
  const cut = await harness({ rows: rowsFor(log.rows.filter((r) => r !== victim)), keys: log.signer.trusted });
  const found = (await cut.get('/v1/verify?since=2020-01-01T00:00:00Z', 'bob')).json() as VerificationReport;
  assert.equal(found.ok, false);
  assert.ok(found.findings.some((f) => f.kind === 'missing' && f.sessionId === victim.session_id && f.seq === 2));
  assertProblem(await clean.get('/v1/verify', 'bob'), 400, 'AG_ERR_BAD_REQUEST');
  assertProblem(await clean.get('/v1/verify?since=2020-01-01T00:00:00Z', 'mallory'), 403, 'AG_ERR_FORBIDDEN');
});
