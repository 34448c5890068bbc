// The guardrails' usage projection: given audit events, when folded, then these counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { requestEvent, responseEvent } from './test-events.js';
import { evolveUsage, initialUsage, rowsOf, usageFor, usageKey, type UsageState } from './index.js';

const fold = (events: AuditEvent[], s: UsageState = initialUsage()): UsageState => events.reduce(evolveUsage, s);
const S = 1_000_000;
const BOT = usageKey('actor', 'bot', 'demo');
const ALICE = usageKey('subject', 'alice', 'demo');

test('given command tags, then rows read and written', () => {
  assert.deepEqual(rowsOf(['SELECT 5'], 5), { rowsRead: 5, rowsWritten: 0 });
  assert.deepEqual(rowsOf(['INSERT 0 3', 'UPDATE 2', 'DELETE 1'], 6), { rowsRead: 0, rowsWritten: 6 });
  assert.deepEqual(rowsOf(['MERGE 4', 'FETCH 7'], 0), { rowsRead: 7, rowsWritten: 4 });
  assert.deepEqual(rowsOf(['COPY 9'], 9), { rowsRead: 9, rowsWritten: 9 });
  assert.deepEqual(rowsOf(['BEGIN', 'COMMIT'], 0), { rowsRead: 0, rowsWritten: 0 });
  assert.deepEqual(rowsOf([], 4), { rowsRead: 4, rowsWritten: 0 });
});

test('given requests by an agent acting for alice, then both the actor and the subject are counted, per connection', () => {
  const s = fold([requestEvent('r1', 10 * S), requestEvent('r2', 11 * S), requestEvent('r3', 12 * S, 'scratch')]);
  assert.deepEqual(usageFor(s, BOT, 12 * S, 60 * S), { statements: 2, rowsRead: 0, rowsWritten: 0 });
  assert.deepEqual(usageFor(s, ALICE, 12 * S, 60 * S), { statements: 2, rowsRead: 0, rowsWritten: 0 });
  assert.equal(usageFor(s, usageKey('actor', 'bot', 'scratch'), 12 * S, 60 * S).statements, 1);
});

test('given responses, then their rows count for the request they answer', () => {
  const s = fold([
    requestEvent('r1', 10 * S),
    responseEvent('r1', 10 * S + 5, ['SELECT 40'], 40),
    requestEvent('r2', 11 * S),
    responseEvent('r2', 11 * S + 5, ['UPDATE 3']),
  ]);
  assert.deepEqual(usageFor(s, BOT, 12 * S, 60 * S), { statements: 2, rowsRead: 40, rowsWritten: 3 });
});

test('given a response to a request never seen, then nothing is counted', () => {
  const s = fold([responseEvent('ghost', 10 * S, ['DELETE 100'])]);
  assert.deepEqual(usageFor(s, BOT, 12 * S, 60 * S), { statements: 0, rowsRead: 0, rowsWritten: 0 });
});

test('given a sliding window, then older events fall out and later ones are not counted yet', () => {
  const s = fold([requestEvent('r1', 10 * S), requestEvent('r2', 40 * S), requestEvent('r3', 70 * S)]);
  assert.equal(usageFor(s, BOT, 70 * S, 60 * S).statements, 2);
  assert.equal(usageFor(s, BOT, 45 * S, 60 * S).statements, 2);
  assert.equal(usageFor(s, BOT, 45 * S, 10 * S).statements, 1);
});

test('given retention, then entries older than it are dropped from the state', () => {
  const s = fold([requestEvent('r1', 10 * S), requestEvent('r2', 200 * S)], initialUsage(100 * S));
  assert.equal(s.entries.get(BOT)?.length, 1);
  assert.equal(s.pending.has('r1'), false);
});

test('given the same events, then the same state (a projection survives restarts by replay)', () => {
  const events = [requestEvent('r1', 10 * S), responseEvent('r1', 10 * S + 1, ['SELECT 2'])];
  assert.deepEqual(fold(events), fold(events));
  const before = fold(events);
  evolveUsage(before, requestEvent('r2', 11 * S));
  assert.equal(usageFor(before, BOT, 12 * S, 60 * S).statements, 1, 'evolve does not mutate');
});
