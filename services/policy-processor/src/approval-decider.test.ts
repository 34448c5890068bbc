import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Actor,
  type AuditEventOf,
  type ApprovalResolved,
  canonicalEventText,
  chainEvent,
  GENESIS,
  sqlDetail,
  verifyChain,
} from '@agentgate/events';
import { type ApprovalSpec, verdictEvent } from '@agentgate/policy';
import { ApprovalBook } from './approval-book.js';
import { decideApproval, finalVerdict, grantUsedEvent } from './approval-decider.js';

const T0 = 1_795_000_000_000_000;
const agent: Actor = {
  subject: 'demo-agent',
  issuer: 'http://idp',
  groups: ['agents'],
  actChain: [{ subject: 'dave', issuer: 'http://idp', clientId: null }],
  tokenId: null,
  authMethod: 'oidc-access-token',
};
const spec: ApprovalSpec = {
  groups: ['approvers'],
  quorum: 1,
  quorumGroups: [],
  expirySec: 900,
  scope: 'statement',
  grantSec: 600,
  notify: ['ops-webhook'],
};

let counter = 0;
/** A request of a fresh session at `timeUs`, with its statement digest. */
function request(digest: string, timeUs: number, actor: Actor = agent): AuditEventOf<'RequestObserved'> {
  counter++;
  const id = `00000000-0000-4000-8000-${counter.toString().padStart(12, '0')}`;
  return chainEvent<'RequestObserved'>(
    {
      eventId: id,
      eventType: 'RequestObserved',
      sessionId: `10000000-0000-4000-8000-${counter.toString().padStart(12, '0')}`,
      timeUs,
      producer: 'ingress/test',
      traceId: null,
      actor,
      payload: {
        requestId: id,
        protocol: 'postgres',
        connection: 'demo',
        detail: sqlDetail('DELETE FROM orders WHERE id = 7', {
          statementKind: 'DeleteStmt',
          statementKinds: ['DeleteStmt'],
          statementDigest: digest,
        }),
      },
    },
    { seq: 1, prevHash: 'a'.repeat(64) },
  );
}

function pendingOf(r: AuditEventOf<'RequestObserved'>): AuditEventOf<'VerdictIssued'> {
  return verdictEvent(r, {
    decision: 'pending_approval',
    policyVersion: 'demo@1',
    ruleId: 'agents-delete-needs-approval',
    reason: 'DELETE on demo needs approval',
    errorCode: 'AG_ERR_POLICY_DENIED',
    maskingPlan: [],
  });
}

function resolved(
  approvalId: string,
  outcome: ApprovalResolved['outcome'],
  timeUs: number,
  grantSec = 600,
): AuditEventOf<'ApprovalResolved'> {
  return chainEvent<'ApprovalResolved'>(
    {
      eventId: `r-${approvalId}-${outcome}`,
      eventType: 'ApprovalResolved',
      sessionId: approvalId,
      timeUs,
      producer: 'approval-service',
      traceId: null,
      actor: null,
      payload: {
        approvalId,
        outcome,
        decidedBy: ['alice'],
        grantScope: outcome === 'approved' ? 'statement' : null,
        grantExpiresAtUs: outcome === 'approved' ? timeUs + grantSec * 1_000_000 : null,
      },
    },
    { seq: 2, prevHash: 'b'.repeat(64) },
  );
}

/** Decides `r` and applies what it wrote to the book, as the processor does. */
function decide(r: AuditEventOf<'RequestObserved'>, book: ApprovalBook, s: ApprovalSpec = spec) {
  const d = decideApproval(r, pendingOf(r), s, book);
  for (const e of d.events) book.apply(e);
  return d;
}

test('a request that needs approval gets a pending verdict naming a new approval, whose request starts its own chain linked by id and hash', () => {
  const book = new ApprovalBook();
  const r = request('d1', T0);
  const d = decide(r, book);
  assert.equal(d.verdict.payload.decision, 'pending_approval');
  assert.equal(d.verdict.payload.statementDigest, 'd1');
  assert.equal(d.waitsOn, d.verdict.payload.approvalId);
  assert.deepEqual([d.verdict.seq, d.verdict.prevHash], [r.seq + 1, r.hash]);
  const [asked] = d.events;
  assert.ok(asked?.eventType === 'ApprovalRequested');
  assert.equal(asked.sessionId, d.verdict.payload.approvalId);
  assert.deepEqual([asked.seq, asked.prevHash], [GENESIS.seq, GENESIS.prevHash]);
  assert.equal(asked.payload.requestHash, r.hash);
  assert.equal(asked.payload.pendingVerdictHash, d.verdict.hash);
  assert.equal(asked.payload.expiresAtUs, T0 + 900_000_000);
  assert.deepEqual(asked.payload.notify, ['ops-webhook']);
  assert.equal(verifyChain([asked]).ok, true);
  // Deciding again (after a restart, the approval request now in the book) writes the same bytes.
  const again = decideApproval(r, pendingOf(r), spec, book);
  assert.equal(canonicalEventText(again.verdict), canonicalEventText(d.verdict));
  assert.equal(canonicalEventText(again.events[0]!), canonicalEventText(asked));
});

test('approved in time: the waiting request gets a final allow chained onto its pending verdict, and uses the grant', () => {
  const book = new ApprovalBook();
  const r = request('d2', T0);
  const d = decide(r, book);
  const approvalId = d.waitsOn!;
  const done = resolved(approvalId, 'approved', T0 + 5_000_000);
  book.apply(done);
  const answer = finalVerdict({ request: r, pending: d.verdict, replyTo: undefined }, done, book);
  assert.ok(answer);
  assert.equal(answer.verdict.payload.decision, 'allow');
  assert.equal(answer.verdict.payload.approvalId, approvalId);
  assert.deepEqual([answer.verdict.seq, answer.verdict.prevHash], [d.verdict.seq + 1, d.verdict.hash]);
  const [use] = answer.events;
  assert.equal(use?.payload.verdictHash, answer.verdict.hash);
  for (const e of answer.events) book.apply(e);
  // The grant was for one execution: the same statement again asks anew.
  const next = decide(request('d2', T0 + 6_000_000), book);
  assert.equal(next.verdict.payload.decision, 'pending_approval');
  assert.notEqual(next.verdict.payload.approvalId, approvalId);
});

test('approved late: the identical statement run again passes once under the grant; a second run and a different statement do not', () => {
  const book = new ApprovalBook();
  const first = decide(request('d3', T0), book);
  book.apply(resolved(first.waitsOn!, 'approved', T0 + 40_000_000));
  const rerun = decide(request('d3', T0 + 50_000_000), book);
  assert.equal(rerun.verdict.payload.decision, 'allow');
  assert.equal(rerun.verdict.payload.approvalId, first.waitsOn);
  assert.equal(rerun.events[0]?.eventType, 'GrantUsed');
  assert.equal(decide(request('d3', T0 + 51_000_000), book).verdict.payload.decision, 'pending_approval', 'a second execution');
  assert.equal(decide(request('other', T0 + 52_000_000), book).verdict.payload.decision, 'pending_approval', 'a different statement');
  // Nor the same statement from the same agent acting for someone else.
  const forErin = { ...agent, actChain: [{ subject: 'erin', issuer: 'http://idp', clientId: null }] };
  const fresh = decide(request('d4', T0), book);
  book.apply(resolved(fresh.waitsOn!, 'approved', T0 + 1_000_000));
  assert.equal(decide(request('d4', T0 + 2_000_000, forErin), book).verdict.payload.decision, 'pending_approval');
  // A grant past its end grants nothing.
  assert.equal(decide(request('d4', T0 + 1_000_000 + 601_000_000), book).verdict.payload.decision, 'pending_approval');
});

test('a second identical request while the first is pending waits on the same approval; a released use frees the grant', () => {
  const book = new ApprovalBook();
  const a = decide(request('d5', T0), book);
  const b = decide(request('d5', T0 + 1_000_000), book);
  assert.equal(b.verdict.payload.approvalId, a.waitsOn);
  assert.deepEqual(b.events, []);
  book.apply(resolved(a.waitsOn!, 'approved', T0 + 2_000_000));
  const late = request('d5', T0 + 3_000_000);
  const used = decide(late, book);
  assert.equal(used.verdict.payload.decision, 'allow');
  book.apply(grantUsedEvent(late, a.waitsOn!, used.verdict, true, T0 + 4_000_000));
  assert.equal(decide(request('d5', T0 + 5_000_000), book).verdict.payload.decision, 'allow', 'the use given back');
});

test('denied or expired: the waiting request gets a final deny with its code, and the same statement is refused for the rule expiry', () => {
  for (const outcome of ['denied', 'expired'] as const) {
    const book = new ApprovalBook();
    const r = request(`d6-${outcome}`, T0);
    const d = decide(r, book);
    const done = resolved(d.waitsOn!, outcome, T0 + 10_000_000);
    book.apply(done);
    const answer = finalVerdict({ request: r, pending: d.verdict, replyTo: undefined }, done, book);
    const code = outcome === 'denied' ? 'AG_ERR_APPROVAL_DENIED' : 'AG_ERR_APPROVAL_EXPIRED';
    assert.equal(answer?.verdict.payload.decision, 'deny');
    assert.equal(answer?.verdict.payload.errorCode, code);
    const retry = decide(request(`d6-${outcome}`, T0 + 20_000_000), book);
    assert.equal(retry.verdict.payload.decision, 'deny');
    assert.equal(retry.verdict.payload.errorCode, code);
    assert.equal(retry.verdict.payload.approvalId, d.waitsOn);
    // After the rule's expiry it may be asked for again.
    assert.equal(decide(request(`d6-${outcome}`, T0 + 10_000_000 + 901_000_000), book).verdict.payload.decision, 'pending_approval');
  }
});

test('a window grant covers every statement of the rule on the connection until it ends', () => {
  const book = new ApprovalBook();
  const windowSpec: ApprovalSpec = { ...spec, scope: 'window', grantSec: 60 };
  const first = decide(request('w1', T0), book, windowSpec);
  book.apply(resolved(first.waitsOn!, 'approved', T0 + 1_000_000, 60));
  for (const [digest, at] of [
    ['w1', 2],
    ['w2', 3],
    ['w3', 50],
  ] as const) {
    assert.equal(decide(request(digest, T0 + at * 1_000_000), book, windowSpec).verdict.payload.decision, 'allow', digest);
  }
  assert.equal(decide(request('w4', T0 + 62_000_000), book, windowSpec).verdict.payload.decision, 'pending_approval');
});

test('the book applies an outcome read before its request once the request arrives, and each event once', () => {
  const book = new ApprovalBook();
  const r = request('d7', T0);
  const d = decideApproval(r, pendingOf(r), spec, new ApprovalBook());
  book.apply(resolved(d.waitsOn!, 'approved', T0 + 1_000_000));
  book.apply(d.events[0]!);
  assert.equal(book.get(d.waitsOn!)?.status, 'approved');
  assert.ok(book.resolution(d.waitsOn!));
  const use = grantUsedEvent(request('d7', T0 + 2_000_000), d.waitsOn!, d.verdict, false, T0 + 2_000_000);
  book.apply(use);
  book.apply(use);
  assert.equal(book.get(d.waitsOn!)?.uses.size, 1);
});

test('without a statement digest (no gateway key) nothing binds: each request asks anew', () => {
  const book = new ApprovalBook();
  const a = decide(request(null as unknown as string, T0), book);
  book.apply(resolved(a.waitsOn!, 'approved', T0 + 1_000_000));
  const b = decide(request(null as unknown as string, T0 + 2_000_000), book);
  assert.equal(b.verdict.payload.decision, 'pending_approval');
  assert.notEqual(b.waitsOn, a.waitsOn);
});
