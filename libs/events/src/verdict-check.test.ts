import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainEvent } from './hash-chain.js';
import { sampleSession } from './test-fixtures.js';
import type { AuditEvent, AuditEventOf } from './types.js';
import { checkVerdict } from './verdict-check.js';

const [, request, verdict] = sampleSession() as [AuditEvent, AuditEventOf<'RequestObserved'>, AuditEventOf<'VerdictIssued'>];
const trusted = new Set([verdict.producer]);
const rechain = (v: AuditEventOf<'VerdictIssued'>): AuditEventOf<'VerdictIssued'> =>
  chainEvent(v, { seq: v.seq, prevHash: v.prevHash }) as AuditEventOf<'VerdictIssued'>;

test('given the verdict that answers a request, when checked, then it is accepted', () => {
  assert.deepEqual(checkVerdict(verdict, request, trusted), { ok: true });
});

test('given a verdict altered after hashing, when checked, then it is rejected for its hash', () => {
  const altered = { ...verdict, payload: { ...verdict.payload, decision: 'deny' as const } };
  assert.deepEqual(checkVerdict(altered, request, trusted), { ok: false, rejection: 'hash' });
});

test('given well-hashed verdicts that do not answer the request, when checked, then each is rejected for what differs', () => {
  const cases: [string, AuditEventOf<'VerdictIssued'>][] = [
    ['session', rechain({ ...verdict, sessionId: '00000000-0000-4000-8000-000000000000' })],
    ['request', rechain({ ...verdict, payload: { ...verdict.payload, requestId: 'another-request' } })],
    ['chain', rechain({ ...verdict, prevHash: 'f'.repeat(64) })],
    ['chain', rechain({ ...verdict, seq: verdict.seq + 1 })],
    ['request-time', rechain({ ...verdict, payload: { ...verdict.payload, requestTimeUs: request.timeUs + 1 } })],
    ['producer', rechain({ ...verdict, producer: 'someone-else' })],
  ];
  for (const [rejection, forged] of cases) {
    assert.deepEqual(checkVerdict(forged, request, trusted), { ok: false, rejection }, rejection);
  }
});

test('given an event that is not a verdict, when checked, then it is rejected', () => {
  assert.deepEqual(checkVerdict(request, request, trusted), { ok: false, rejection: 'not-a-verdict' });
});

test('given an authentic shadow verdict of the request, when checked, then it is rejected: shadow verdicts are never enforced', () => {
  const shadow = rechain({ ...verdict, eventId: `${verdict.eventId}-shadow`, payload: { ...verdict.payload, shadow: true } });
  assert.deepEqual(checkVerdict(shadow, request, trusted), { ok: false, rejection: 'shadow' });
});

test('given a request sent for approval, its final verdict counts only chained onto the pending verdict, and a second pending one does not', () => {
  const pending = rechain({ ...verdict, payload: { ...verdict.payload, decision: 'pending_approval', approvalId: 'a1' } });
  const final = chainEvent(
    { ...verdict, eventId: 'final', payload: { ...verdict.payload, approvalId: 'a1' } },
    { seq: pending.seq + 1, prevHash: pending.hash },
  ) as AuditEventOf<'VerdictIssued'>;
  assert.deepEqual(checkVerdict(final, request, trusted, pending), { ok: true });
  assert.deepEqual(checkVerdict(final, request, trusted), { ok: false, rejection: 'chain' }, 'not an answer to the request itself');
  assert.deepEqual(checkVerdict(pending, request, trusted, pending), { ok: false, rejection: 'chain' });
  const pendingAgain = chainEvent(
    { ...pending, eventId: 'again' },
    { seq: pending.seq + 1, prevHash: pending.hash },
  ) as AuditEventOf<'VerdictIssued'>;
  assert.deepEqual(checkVerdict(pendingAgain, request, trusted, pending), { ok: false, rejection: 'chain' });
});
