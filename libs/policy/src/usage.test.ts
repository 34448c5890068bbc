// The guardrails' usage projection: given audit events, when folded, then these counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import { requestEvent, responseEvent } from './test-events.js';
import { evolveUsage, initialUsage, retainedEntries, rowsOf, usageFor, usageKey, type UsageState } from './index.js';

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
  assert.equal(retainedEntries(s, BOT), 1);
  assert.equal(s.pending.has('r1'), false);
});

test('given the same events, then the same state (a projection survives restarts by replay)', () => {
  const events = [requestEvent('r1', 10 * S), responseEvent('r1', 10 * S + 1, ['SELECT 2'])];
  assert.deepEqual(fold(events), fold(events));
  const before = fold(events);
  evolveUsage(before, requestEvent('r2', 11 * S));
  assert.equal(usageFor(before, BOT, 12 * S, 60 * S).statements, 1, 'evolve does not mutate');
});

test('given thousands of events slightly out of time order, then every window sums exactly what a plain scan of the events in it does', () => {
  // A deterministic generator (LCG), so a failure replays.
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const events: AuditEvent[] = [];
  const counted: { timeUs: number; statements: number; rowsRead: number }[] = [];
  let clock = 10 * S;
  for (let i = 0; i < 3000; i++) {
    clock += next(20_000);
    // Partitions interleave: a request may carry a time up to 30 ms before the last one seen.
    const t = clock - next(30_000);
    events.push(requestEvent(`q${i}`, t));
    counted.push({ timeUs: t, statements: 1, rowsRead: 0 });
    if (next(3) === 0) {
      const rows = next(50);
      events.push(responseEvent(`q${i}`, t + 7, [`SELECT ${rows}`], rows));
      if (rows > 0) counted.push({ timeUs: t + 7, statements: 0, rowsRead: rows });
    }
  }
  const s = fold(events);
  for (let k = 0; k < 200; k++) {
    const nowUs = 10 * S + next(clock - 10 * S);
    const windowUs = 1 + next(20 * S);
    const want = { statements: 0, rowsRead: 0, rowsWritten: 0 };
    for (const c of counted) {
      if (c.timeUs > nowUs - windowUs && c.timeUs <= nowUs) {
        want.statements += c.statements;
        want.rowsRead += c.rowsRead;
      }
    }
    assert.deepEqual(usageFor(s, BOT, nowUs, windowUs), want, `window (${nowUs - windowUs}, ${nowUs}]`);
  }
  assert.equal(retainedEntries(s, BOT), counted.length, 'within the default retention nothing is dropped');
});

test('given a long run, then retention bounds the entries kept per key', () => {
  const events: AuditEvent[] = [];
  for (let i = 0; i < 5000; i++) events.push(requestEvent(`q${i}`, 10 * S + i * 10_000));
  const s = fold(events, initialUsage(5 * S));
  // 5 s at one request per 10 ms is 500 entries; sealing drops whole chunks, so a chunk or two more.
  assert.ok(retainedEntries(s, BOT) >= 500 && retainedEntries(s, BOT) <= 500 + 3 * 64, String(retainedEntries(s, BOT)));
  assert.equal(usageFor(s, BOT, 10 * S + 4999 * 10_000, 5 * S).statements, 500);
});
