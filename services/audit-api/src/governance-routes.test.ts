// Legal holds and retention through the API, with Kafka, ClickHouse reads and partition drops
// injected: records are written before anything is dropped, a failed write drops nothing, a dry
// run writes nothing, and only auditors get in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Actor, AuditEvent } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { buildAuditApp } from './app.js';

function person(subject: string, groups: string[]): Actor {
  return { subject, issuer: 'https://idp.example', groups, actChain: [], tokenId: null, authMethod: 'oidc-access-token' };
}

const IDENTITIES: Record<string, Actor> = { bob: person('bob', ['auditors']), mallory: person('mallory', ['developers']) };
const us = (iso: string): number => Date.parse(iso) * 1000;
const NOW = us('2025-06-15T00:00:00Z');

interface World {
  holds?: { session_id: string; reason: string; requested_by: string; changed_us: string }[];
  parts?: { table: string; partition: string; rows: string }[];
  held?: { partition: string; session_id: string }[];
  /** Whether a hold's record shows in ClickHouse. */
  stored?: boolean;
  /** Publish number n (1-based) fails. */
  failPublishAt?: number;
  retentionDays?: number;
}

async function harness(w: World = {}) {
  const log: string[] = [];
  const published: AuditEvent[] = [];
  const queries: string[] = [];
  let ids = 0;
  const app = await buildAuditApp({
    verifyToken: async (token) => {
      const who = IDENTITIES[token];
      if (who === undefined) throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
      return who;
    },
    async query<T>(sql: string): Promise<T[]> {
      queries.push(sql);
      if (sql.includes('system.parts')) return (w.parts ?? []) as T[];
      if (sql.includes('argMax(decision')) return (w.holds ?? []) as T[];
      if (sql.includes('toYYYYMM(event_date)')) return (w.held ?? []) as T[];
      if (sql.includes('count() AS n')) return [{ n: w.stored === false ? '0' : '1' }] as T[];
      return [];
    },
    database: 'agentgate',
    trustedKeys: async () => [],
    auditorGroup: 'auditors',
    governance: {
      async publish(event) {
        if (w.failPublishAt === published.length + 1) {
          log.push(`publish-failed:${event.eventType}`);
          throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'kafka down');
        }
        published.push(event);
        const p = event.payload as { partition?: string; action: string };
        log.push(`publish:${event.eventType}:${p.partition ?? ''}:${p.action}`);
      },
      async dropPartition(sql) {
        log.push(`drop:${sql}`);
      },
      retentionDays: w.retentionDays ?? 400,
      producer: 'audit-api',
      newId: () => `id-${++ids}`,
      nowUs: () => NOW,
      projectionWaitMs: 0,
      projectionPollMs: 1,
    },
  });
  return { app, log, published, queries };
}

const auth = (who: string) => ({ authorization: `Bearer ${who}` });

const PARTS = [
  { table: 'events', partition: '202501', rows: '10' },
  { table: 'sessions_state', partition: '202501', rows: '2' },
  { table: 'events', partition: '202502', rows: '20' },
  { table: 'requests_state', partition: '202502', rows: '5' },
  { table: 'events', partition: '202506', rows: '30' },
];

test('given a hold, when added, then one LegalHoldChanged chain of its own is written and the answer waits for ClickHouse', async () => {
  const { app, published, queries } = await harness();
  const res = await app.inject({
    method: 'POST',
    url: '/v1/holds',
    headers: auth('bob'),
    payload: { sessionId: 's-1', reason: 'case 42' },
  });
  assert.equal(res.statusCode, 201);
  assert.deepEqual(res.json(), {
    eventId: 'id-1',
    sessionId: 's-1',
    action: 'add',
    reason: 'case 42',
    requestedBy: 'bob',
    projected: true,
  });
  assert.equal(published.length, 1);
  const e = published[0] as AuditEvent & { eventType: 'LegalHoldChanged' };
  assert.equal(e.eventType, 'LegalHoldChanged');
  assert.deepEqual(e.payload, { heldSessionId: 's-1', action: 'add', reason: 'case 42', requestedBy: 'bob' });
  assert.equal(e.sessionId, 'governance/hold/id-1');
  assert.equal(e.seq, 0);
  assert.equal(e.prevHash, null);
  assert.equal(e.producer, 'audit-api');
  assert.equal(e.actor?.subject, 'bob');
  assert.ok(queries.some((q) => q.includes("event_id = 'id-1'")));
});

test('given ClickHouse never shows the hold in time, then it is answered with projected false (Kafka has it)', async () => {
  const { app } = await harness({ stored: false });
  const res = await app.inject({ method: 'POST', url: '/v1/holds', headers: auth('bob'), payload: { sessionId: 's-1', reason: 'r' } });
  assert.equal(res.statusCode, 201);
  assert.equal(res.json().projected, false);
});

test('given Kafka refuses the record, then the hold answers 503 AG_ERR_AUDIT_UNAVAILABLE', async () => {
  const { app } = await harness({ failPublishAt: 1 });
  const res = await app.inject({ method: 'POST', url: '/v1/holds', headers: auth('bob'), payload: { sessionId: 's-1', reason: 'r' } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'AG_ERR_AUDIT_UNAVAILABLE');
});

test('given a held session, when the hold is removed, then a remove record is written; a session not held is 404 and writes nothing', async () => {
  const holds = [{ session_id: 's/1', reason: 'case', requested_by: 'bob', changed_us: String(NOW) }];
  const { app, published } = await harness({ holds });
  const ok = await app.inject({ method: 'DELETE', url: '/v1/holds/s%2F1', headers: auth('bob'), payload: { reason: 'case closed' } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().action, 'remove');
  assert.deepEqual((published[0] as AuditEvent & { eventType: 'LegalHoldChanged' }).payload, {
    heldSessionId: 's/1',
    action: 'remove',
    reason: 'case closed',
    requestedBy: 'bob',
  });
  const missing = await app.inject({ method: 'DELETE', url: '/v1/holds/other', headers: auth('bob'), payload: { reason: 'x' } });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'AG_ERR_BAD_REQUEST');
  assert.equal(published.length, 1);
});

test('given current holds, then GET /v1/holds lists them', async () => {
  const holds = [{ session_id: 's-1', reason: 'case 42', requested_by: 'bob', changed_us: String(us('2025-06-01T00:00:00Z')) }];
  const { app } = await harness({ holds });
  const res = await app.inject({ method: 'GET', url: '/v1/holds', headers: auth('bob') });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { holds: [{ sessionId: 's-1', reason: 'case 42', requestedBy: 'bob', since: '2025-06-01T00:00:00.000Z' }] });
});

test('given a caller outside the auditors, then every governance route is 403 and writes nothing; without a token 401', async () => {
  const { app, published, log } = await harness({ parts: PARTS });
  for (const [method, url, payload] of [
    ['GET', '/v1/holds', undefined],
    ['POST', '/v1/holds', { sessionId: 's', reason: 'r' }],
    ['DELETE', '/v1/holds/s', { reason: 'r' }],
    ['POST', '/v1/retention/apply', {}],
  ] as const) {
    const res = await app.inject({ method, url, headers: auth('mallory'), ...(payload ? { payload } : {}) });
    assert.equal(res.statusCode, 403, `${method} ${url}`);
    assert.equal(res.json().code, 'AG_ERR_FORBIDDEN');
    const anon = await app.inject({ method, url, ...(payload ? { payload } : {}) });
    assert.equal(anon.statusCode, 401);
  }
  assert.equal(published.length, 0);
  assert.deepEqual(log, []);
});

test('given bad input, then 400 AG_ERR_BAD_REQUEST and nothing is written', async () => {
  const { app, published, log } = await harness({ parts: PARTS });
  const bad: [string, string, unknown][] = [
    ['POST', '/v1/holds', { sessionId: 's' }],
    ['POST', '/v1/holds', { sessionId: '', reason: 'r' }],
    ['POST', '/v1/holds', { sessionId: 's', reason: 'r', extra: 1 }],
    ['POST', '/v1/holds', { sessionId: 'x'.repeat(257), reason: 'r' }],
    ['DELETE', '/v1/holds/s', {}],
    ['POST', '/v1/retention/apply', { olderThanDays: 30 }],
    ['POST', '/v1/retention/apply', { olderThanDays: 'many' }],
    ['POST', '/v1/retention/apply', { olderThanDays: 40.5 }],
    ['POST', '/v1/retention/apply', { dryRun: 'yes', olderThanDays: 40 }],
    ['POST', '/v1/retention/apply', { since: 3 }],
  ];
  for (const [method, url, payload] of bad) {
    const res = await app.inject({ method: method as 'POST', url, headers: auth('bob'), payload: payload as object });
    assert.equal(res.statusCode, 400, `${method} ${url} ${JSON.stringify(payload)}`);
    assert.equal(res.json().code, 'AG_ERR_BAD_REQUEST');
  }
  assert.equal(published.length, 0);
  assert.deepEqual(log, []);
});

test('given a held January, an old February and the current month, then each record is written before its month is dropped', async () => {
  const { app, log, published } = await harness({ parts: PARTS, held: [{ partition: '202501', session_id: 's-1' }], holds: [] });
  // Holds come from the holds query; the held partitions query only runs when there are holds.
  const withHolds = await harness({
    parts: PARTS,
    holds: [{ session_id: 's-1', reason: 'case', requested_by: 'bob', changed_us: '1' }],
    held: [{ partition: '202501', session_id: 's-1' }],
  });
  const res = await withHolds.app.inject({
    method: 'POST',
    url: '/v1/retention/apply',
    headers: auth('bob'),
    payload: { olderThanDays: 100 },
  });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.dryRun, false);
  assert.equal(body.cutoffUs, NOW - 100 * 86_400_000_000);
  assert.deepEqual(
    body.partitions.map((p: { partition: string; action: string; heldSessions: string[] }) => [p.partition, p.action, p.heldSessions]),
    [
      ['202501', 'keep', ['s-1']],
      ['202502', 'drop', []],
    ],
  );
  assert.deepEqual(withHolds.log, [
    'publish:RetentionApplied:202501:keep',
    'publish:RetentionApplied:202502:drop',
    'drop:ALTER TABLE `agentgate`.`events` DROP PARTITION 202502',
    'drop:ALTER TABLE `agentgate`.`requests_state` DROP PARTITION 202502',
  ]);
  const drop = withHolds.published[1] as AuditEvent & { eventType: 'RetentionApplied' };
  assert.deepEqual(drop.payload, {
    partition: '202502',
    action: 'drop',
    tables: ['events', 'requests_state'],
    rows: 20,
    heldSessions: [],
    cutoffUs: NOW - 100 * 86_400_000_000,
    requestedBy: 'bob',
  });
  assert.equal(drop.sessionId, 'governance/retention/id-2');
  // Without holds, January is dropped too.
  const res2 = await app.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth('bob'), payload: { olderThanDays: 100 } });
  assert.equal(res2.statusCode, 200);
  assert.deepEqual(
    log.filter((l) => l.startsWith('publish')),
    ['publish:RetentionApplied:202501:drop', 'publish:RetentionApplied:202502:drop'],
  );
  assert.equal(published.length, 2);
});

test('given Kafka refuses the first record, then 503 AG_ERR_AUDIT_UNAVAILABLE and nothing is dropped', async () => {
  const { app, log } = await harness({ parts: PARTS, failPublishAt: 1 });
  const res = await app.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth('bob'), payload: { olderThanDays: 100 } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.deepEqual(log, ['publish-failed:RetentionApplied']);
});

test('given Kafka refuses the second record, then the first month is dropped and the second is not', async () => {
  const { app, log } = await harness({ parts: PARTS, failPublishAt: 2 });
  const res = await app.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth('bob'), payload: { olderThanDays: 100 } });
  assert.equal(res.statusCode, 503);
  assert.deepEqual(log, [
    'publish:RetentionApplied:202501:drop',
    'drop:ALTER TABLE `agentgate`.`events` DROP PARTITION 202501',
    'drop:ALTER TABLE `agentgate`.`sessions_state` DROP PARTITION 202501',
    'publish-failed:RetentionApplied',
  ]);
});

test('given a dry run, then the plan comes back and nothing is written or dropped', async () => {
  const { app, log, published } = await harness({ parts: PARTS });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/retention/apply',
    headers: auth('bob'),
    payload: { olderThanDays: 100, dryRun: true },
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().dryRun, true);
  assert.deepEqual(
    res.json().partitions.map((p: { partition: string; action: string }) => [p.partition, p.action]),
    [
      ['202501', 'drop'],
      ['202502', 'drop'],
    ],
  );
  assert.deepEqual(log, []);
  assert.equal(published.length, 0);
});

test('given no age, then the configured retention applies (400 days: nothing of 2025 is old enough)', async () => {
  const { app, log } = await harness({ parts: PARTS, retentionDays: 400 });
  const res = await app.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth('bob'), payload: {} });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().olderThanDays, 400);
  assert.deepEqual(res.json().partitions, []);
  assert.deepEqual(log, []);
  const bodiless = await app.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth('bob') });
  assert.equal(bodiless.statusCode, 200, bodiless.body);
});
