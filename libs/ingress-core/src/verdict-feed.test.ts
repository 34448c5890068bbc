import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { chainEvent, sampleSession, type AuditEvent, type AuditEventOf } from '@agentgate/events';
import { VerdictWaiters } from './verdict-feed.js';

const [, request, verdict] = sampleSession() as [AuditEvent, AuditEventOf<'RequestObserved'>, AuditEventOf<'VerdictIssued'>];
const requestId = request.payload.requestId;
const trusted = new Set([verdict.producer]);
const forgedAllow = (): AuditEventOf<'VerdictIssued'> =>
  chainEvent({ ...verdict, producer: 'attacker' }, { seq: verdict.seq, prevHash: verdict.prevHash }) as AuditEventOf<'VerdictIssued'>;

test('a waiter gets the authentic verdict of its request and nothing else', async () => {
  const seen: string[] = [];
  const waiters = new VerdictWaiters(trusted, (rejection) => seen.push(rejection));
  const wait = waiters.expect(requestId);
  const answer = wait.answerTo(request);
  assert.equal(waiters.deliver({ ...verdict, payload: { ...verdict.payload, requestId: 'other' } }), false);
  assert.equal(waiters.deliver(forgedAllow()), false);
  assert.equal(waiters.deliver({ ...verdict, hash: '0'.repeat(64) }), false);
  assert.deepEqual(seen, ['producer', 'hash']);
  assert.equal(waiters.size, 1, 'a rejected verdict leaves the request waiting for the real one');
  assert.equal(waiters.deliver(verdict), true);
  assert.equal(await answer, verdict);
  assert.equal(waiters.size, 0);
  assert.equal(waiters.rejected.producer, 1);
});

test('verdicts that arrive before the request is durable are checked once it is', async () => {
  const waiters = new VerdictWaiters(trusted);
  const wait = waiters.expect(requestId);
  assert.equal(waiters.deliver(forgedAllow()), false);
  assert.equal(waiters.deliver(verdict), false);
  assert.equal(await wait.answerTo(request), verdict);
  assert.equal(waiters.rejected.producer, 1);
});

test('shutting down fails every waiter', async () => {
  const waiters = new VerdictWaiters(trusted);
  const answer = waiters.expect('r2').answerTo(request);
  waiters.failAll(new GatewayError('AG_ERR_SHUTTING_DOWN'));
  await assert.rejects(answer, (e: { code?: string }) => e.code === 'AG_ERR_SHUTTING_DOWN');
});
