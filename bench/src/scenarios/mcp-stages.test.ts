import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type McpAuditRow, mcpStages, summaryMeanMs } from './mcp-stages.js';

/** A session of `count` calls: request i stamped at i*100 ms, its response `loopMs(i)` later. */
function session(count: number, loopMs: (i: number) => number): McpAuditRow[] {
  const rows: McpAuditRow[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * 100_000;
    rows.push({ eventType: 'RequestObserved', requestId: `r${i}`, seq: 2 + 3 * i, timeUs: at });
    rows.push({ eventType: 'VerdictIssued', requestId: `r${i}`, seq: 3 + 3 * i, timeUs: at });
    rows.push({ eventType: 'ResponseObserved', requestId: `r${i}`, seq: 4 + 3 * i, timeUs: at + loopMs(i) * 1000 });
  }
  return rows;
}

test('timed calls pair with the requests after the warm-up, in record order', () => {
  // Warm-up calls take 50 ms in the audit loop, timed ones 3 ms: a pairing off by one shows.
  const rows = session(4, (i) => (i < 2 ? 50 : 3)).reverse();
  const s = mcpStages([10, 12], rows, 2);
  assert.equal(s.auditLoop.count, 2);
  assert.equal(s.auditLoop.p50, 3);
  assert.equal(s.auditLoop.p99, 3);
  assert.deepEqual([s.outside.p50, s.outside.p99], [7, 9]);
});

test('a request stored twice counts once', () => {
  const rows = session(3, () => 2);
  rows.push({ ...rows[3]! });
  assert.equal(mcpStages([5, 6], rows, 1).auditLoop.count, 2);
});

test('another number of requests than calls, or a request without its response, is refused', () => {
  assert.throws(
    () =>
      mcpStages(
        [5, 6],
        session(2, () => 2),
        1,
      ),
    /recorded 2 requests, the bench made 3/,
  );
  // One more than the calls: a request of someone else's making in the session, or a lost sample.
  assert.throws(
    () =>
      mcpStages(
        [5, 6],
        session(4, () => 2),
        1,
      ),
    /recorded 4 requests, the bench made 3/,
  );
  const rows = session(3, () => 2).filter((r) => !(r.eventType === 'ResponseObserved' && r.requestId === 'r2'));
  assert.throws(() => mcpStages([5, 6], rows, 1), /request r2 has no recorded response/);
});

test('the processor summary: mean over the calls between two readings, NaN when none', () => {
  const m = summaryMeanMs({ sum: 1, count: 10 }, { sum: 1.5, count: 110 });
  assert.equal(m.count, 100);
  assert.ok(Math.abs(m.meanMs - 5) < 1e-9);
  assert.ok(Number.isNaN(summaryMeanMs({ sum: 1, count: 10 }, { sum: 1, count: 10 }).meanMs));
});
