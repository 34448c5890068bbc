import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainEvent, nextLink, verifyChain } from './hash-chain.js';
import { sampleSession } from './test-fixtures.js';
import type { AuditEvent, AuditEventOf } from './types.js';

const session = sampleSession();
const request = session[1] as AuditEventOf<'RequestObserved'>;
const verdict = session[2] as AuditEventOf<'VerdictIssued'>;

function shadowOf(v: AuditEventOf<'VerdictIssued'>, link = nextLink(request)): AuditEvent {
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = v;
  return chainEvent<'VerdictIssued'>(
    { ...rest, eventId: `${v.eventId}-shadow`, payload: { ...v.payload, shadow: true, decision: 'deny' } },
    link,
  );
}

test('given a shadow verdict beside the live one, when the chain is verified, then it verifies (no fork)', () => {
  assert.equal(verifyChain([...session, shadowOf(verdict)]).ok, true);
});

test('given a second live verdict in the same slot, when verified, then it is a fork', () => {
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = verdict;
  const second = chainEvent<'VerdictIssued'>(
    { ...rest, eventId: 'another', payload: { ...verdict.payload, decision: 'deny' } },
    nextLink(request),
  );
  const result = verifyChain([...session, second]);
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.reason, /fork/);
});

test('given a shadow verdict that answers no request of the session, when verified, then the chain is broken', () => {
  const stray = shadowOf(verdict, { seq: 40, prevHash: 'f'.repeat(64) });
  const result = verifyChain([...session, stray]);
  assert.deepEqual(result.ok ? result : { ok: false, atSeq: result.atSeq }, { ok: false, atSeq: 40 });
});

test('given a live verdict marked shadow after hashing, when verified, then its hash breaks', () => {
  const relabelled = { ...verdict, payload: { ...verdict.payload, shadow: true } } as AuditEvent;
  const result = verifyChain(session.map((e) => (e === verdict ? relabelled : e)));
  assert.equal(result.ok, false);
});
