import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeSequential } from './sequential.js';

test('warm-up calls run but are not timed; calls never overlap', async () => {
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const ms = await timeSequential(4, 3, async () => {
    calls++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
  });
  assert.equal(calls, 7);
  assert.equal(ms.length, 4);
  assert.equal(maxInFlight, 1);
  assert.ok(ms.every((x) => x >= 0));
});
