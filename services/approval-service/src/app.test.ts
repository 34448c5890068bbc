import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyChain, type Actor, type AuditEvent } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { buildApprovalApp } from './app.js';
import { createApprovalStore } from './approval-store.js';
import { createCommandRunner } from './commands.js';
import { AGENT_FOR_ALICE, APPROVAL_ID, T0, person, requested, standalone } from './test-fixtures.js';

const IDENTITIES: Record<string, Actor> = {
  bob: person('bob', ['approvers']),
  carol: person('carol', ['approvers']),
  alice: person('alice', ['approvers']),
  agent: AGENT_FOR_ALICE,
  mallory: person('mallory', ['developers']),
  auditor: person('ivy', ['auditors']),
};

async function harness(options: { ready?: boolean; failWrites?: boolean; events?: AuditEvent[] } = {}) {
  const request = requested({ quorum: 2 });
  const store = createApprovalStore();
  const blast = standalone({
    eventId: 'blast-1',
    sessionId: 'blast-session',
    timeUs: T0 + 5,
    eventType: 'BlastRadiusEstimated',
    payload: { approvalId: APPROVAL_ID, requestId: 'r1', estimatedRows: 42, planSummary: 'Delete on public.orders', error: null },
  });
  store.apply(options.events ?? [request, blast]);
  const log: AuditEvent[] = [];
  const runner = createCommandRunner(store, async (events) => {
    if (options.failWrites) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'broker down');
    log.push(...events);
  });
  let ids = 0;
  const app = await buildApprovalApp({
    store,
    runner,
    verifyToken: async (token) => {
      const who = IDENTITIES[token];
      if (who === undefined) throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
      return who;
    },
    nowUs: () => T0 + 90_000_000,
    newEventId: () => `decision-${++ids}`,
    ready: () => options.ready ?? true,
    publicUrl: 'https://approvals.example/',
  });
  const call = (method: 'GET' | 'POST', url: string, token?: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  return { app, store, log, request, call };
}

function assertProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string): void {
  assert.equal(res.statusCode, status);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.type, `https://agentgate.dev/errors/${code}`);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
}

test('every request needs a bearer token, whatever its spelling: 401 AG_ERR_UNAUTHENTICATED without one', async () => {
  const { call } = await harness();
  for (const [method, url] of [
    ['GET', '/v1/approvals'],
    ['GET', `/v1/approvals/${APPROVAL_ID}`],
    ['POST', `/v1/approvals/${APPROVAL_ID}/approve`],
    ['POST', `/v1/approvals/${APPROVAL_ID}/deny`],
    // Percent-escaped spellings of the same routes (the router decodes them), and no route at all.
    ['GET', '/%76%31/approvals'],
    ['POST', `/v%31/approvals/${APPROVAL_ID}/approve`],
    ['GET', '/nowhere'],
  ] as const) {
    const res = await call(method, url);
    assertProblem(res, 401, 'AG_ERR_UNAUTHENTICATED');
    assert.equal(res.headers['www-authenticate'], 'Bearer');
  }
});

test('a token the verifier rejects is 401 with its AG_ERR_TOKEN_* code', async () => {
  const { call } = await harness();
  assertProblem(await call('GET', '/v1/approvals', 'forged'), 401, 'AG_ERR_TOKEN_SIGNATURE_INVALID');
});

test('before the state has caught up with the log: 503 AG_ERR_AUDIT_UNAVAILABLE', async () => {
  const { call } = await harness({ ready: false });
  assertProblem(await call('GET', '/v1/approvals', 'bob'), 503, 'AG_ERR_AUDIT_UNAVAILABLE');
});

test('the full view an approver decides on', async () => {
  const { call } = await harness();
  const res = await call('GET', `/v1/approvals/${APPROVAL_ID}`, 'bob');
  assert.equal(res.statusCode, 200);
  const view = res.json();
  assert.deepEqual(view, {
    id: APPROVAL_ID,
    status: 'pending',
    requester: {
      subject: 'demo-agent',
      issuer: 'https://idp.example',
      groups: ['agents'],
      actChain: [{ subject: 'alice', issuer: null, clientId: null }],
    },
    connection: 'orders-prod',
    protocol: 'postgres',
    text: 'DELETE FROM orders WHERE id = $1',
    parameters: ['***'],
    statementKinds: ['DELETE'],
    ruleId: 'deletes-need-approval',
    reason: 'DELETE on orders needs an approval',
    policyVersion: 'v7',
    blastRadius: {
      estimatedRows: 42,
      planSummary: 'Delete on public.orders',
      error: null,
      estimatedAt: new Date((T0 + 5) / 1000).toISOString(),
    },
    requestedAt: new Date(T0 / 1000).toISOString(),
    ageSeconds: 90,
    expiresAt: new Date((T0 + 600_000_000) / 1000).toISOString(),
    approverGroups: ['approvers', 'dba-*'],
    quorum: 2,
    quorumGroups: [],
    decisions: [],
    resolution: null,
    grant: null,
    links: {
      requestSessionId: 's0000000-0000-4000-8000-000000000001',
      requestId: 'r0000000-0000-4000-8000-000000000001',
      requestHash: 'aa'.repeat(32),
      pendingVerdictHash: 'bb'.repeat(32),
      statementDigest: 'cc'.repeat(32),
    },
    url: `https://approvals.example/v1/approvals/${APPROVAL_ID}`,
  });
});

test('who may read: approvers, the requester and the human behind it, auditors; nobody else', async () => {
  const { call } = await harness();
  for (const token of ['bob', 'agent', 'alice', 'auditor']) {
    assert.equal((await call('GET', `/v1/approvals/${APPROVAL_ID}`, token)).statusCode, 200, token);
    assert.equal((await call('GET', '/v1/approvals', token)).json().approvals.length, 1, token);
  }
  assertProblem(await call('GET', `/v1/approvals/${APPROVAL_ID}`, 'mallory'), 403, 'AG_ERR_APPROVAL_FORBIDDEN');
  assert.deepEqual((await call('GET', '/v1/approvals', 'mallory')).json(), { approvals: [] });
  assertProblem(await call('GET', '/v1/approvals/nope', 'bob'), 404, 'AG_ERR_APPROVAL_NOT_FOUND');
});

test('list: pending by default, all on request, summaries only', async () => {
  const { call } = await harness();
  const [summary] = (await call('GET', '/v1/approvals', 'bob')).json().approvals;
  assert.equal(summary.id, APPROVAL_ID);
  assert.equal(summary.status, 'pending');
  assert.equal(summary.requester, 'demo-agent');
  assert.deepEqual(summary.actChain, ['alice']);
  assert.equal(summary.approvals, 0);
  assert.equal(summary.url, `https://approvals.example/v1/approvals/${APPROVAL_ID}`);
  assert.equal((await call('POST', `/v1/approvals/${APPROVAL_ID}/deny`, 'bob')).statusCode, 200);
  assert.deepEqual((await call('GET', '/v1/approvals', 'bob')).json(), { approvals: [] });
  assert.equal((await call('GET', '/v1/approvals?status=all', 'bob')).json().approvals[0].status, 'denied');
  assertProblem(await call('GET', '/v1/approvals?status=weird', 'bob'), 400, 'AG_ERR_BAD_REQUEST');
});

test('a non-approver may not decide: 403 AG_ERR_APPROVAL_FORBIDDEN, nothing written', async () => {
  const { call, log } = await harness();
  assertProblem(await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'mallory'), 403, 'AG_ERR_APPROVAL_FORBIDDEN');
  assert.equal(log.length, 0);
});

test('the human the requesting agent acts for may not approve: 403 AG_ERR_APPROVAL_SELF', async () => {
  const { call, log } = await harness();
  assertProblem(await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'alice'), 403, 'AG_ERR_APPROVAL_SELF');
  assert.equal(log.length, 0);
});

test('approve twice to quorum: the view follows the written events, which chain onto the request', async () => {
  const { call, log, request } = await harness();
  const first = await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'bob', { comment: 'checked the ticket' });
  assert.equal(first.statusCode, 200);
  assert.equal(first.json().status, 'pending');
  assert.deepEqual(
    first.json().decisions.map((d: { approver: string; comment: string | null }) => [d.approver, d.comment]),
    [['bob', 'checked the ticket']],
  );
  assertProblem(await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'bob'), 409, 'AG_ERR_APPROVAL_DUPLICATE');
  const second = await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'carol');
  assert.equal(second.statusCode, 200);
  const view = second.json();
  assert.equal(view.status, 'approved');
  assert.deepEqual(view.grant, {
    scope: 'statement',
    expiresAt: new Date((T0 + 90_000_000 + 300_000_000) / 1000).toISOString(),
    uses: 0,
    released: 0,
  });
  assert.deepEqual(view.resolution.decidedBy, ['bob', 'carol']);
  assert.deepEqual(
    log.map((e) => [e.eventType, e.seq, e.producer]),
    [
      ['ApprovalDecided', 1, 'approval-service'],
      ['ApprovalDecided', 2, 'approval-service'],
      ['ApprovalResolved', 3, 'approval-service'],
    ],
  );
  assert.deepEqual(verifyChain([request, ...log]), { ok: true, length: 4 });
  assertProblem(await call('POST', `/v1/approvals/${APPROVAL_ID}/deny`, 'alice'), 409, 'AG_ERR_APPROVAL_CLOSED');
});

test('a failed write is 503 AG_ERR_AUDIT_UNAVAILABLE and changes nothing', async () => {
  const { call, store } = await harness({ failWrites: true });
  const before = store.state;
  assertProblem(await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'bob'), 503, 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.equal(store.state, before);
});

test('an expired approval: 409 AG_ERR_APPROVAL_EXPIRED, and the expiry is written', async () => {
  const { call, log } = await harness({ events: [requested({ expiresAtUs: T0 + 1 })] });
  assertProblem(await call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'bob'), 409, 'AG_ERR_APPROVAL_EXPIRED');
  assert.deepEqual(
    log.map((e) => [e.eventType, e.seq]),
    [['ApprovalResolved', 1]],
  );
  assert.equal((await call('GET', `/v1/approvals/${APPROVAL_ID}`, 'bob')).json().status, 'expired');
});

test('bodies: a comment of at most 1000 characters, nothing else', async () => {
  const { call, log } = await harness();
  const url = `/v1/approvals/${APPROVAL_ID}/approve`;
  assertProblem(await call('POST', url, 'bob', { comment: 'x'.repeat(1001) }), 400, 'AG_ERR_BAD_REQUEST');
  assertProblem(await call('POST', url, 'bob', { comment: 7 }), 400, 'AG_ERR_BAD_REQUEST');
  assertProblem(await call('POST', url, 'bob', { comment: 'ok', grant: 'forever' }), 400, 'AG_ERR_BAD_REQUEST');
  assertProblem(await call('POST', url, 'bob', ['x']), 400, 'AG_ERR_BAD_REQUEST');
  assert.equal(log.length, 0);
  assert.equal((await call('POST', url, 'bob', { comment: 'é'.repeat(1000) })).statusCode, 200);
});

test('commands on one approval run one at a time: concurrent approvals chain one after the other', async () => {
  const { call, log, request } = await harness();
  const results = await Promise.all([
    call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'bob'),
    call('POST', `/v1/approvals/${APPROVAL_ID}/approve`, 'carol'),
  ]);
  assert.deepEqual(
    results.map((r) => r.statusCode),
    [200, 200],
  );
  assert.deepEqual(verifyChain([request, ...log]), { ok: true, length: 4 });
});
