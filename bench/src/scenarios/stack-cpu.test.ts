import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coresBusy, type SettleOptions, settle } from './stack-cpu.js';

test('cores busy: ticks of the processes present in both readings, per second of the window', () => {
  const before = new Map([
    ['kafka', 1_000],
    ['projector', 500],
    ['gone', 10],
  ]);
  const after = new Map([
    ['kafka', 1_150],
    ['projector', 550],
    ['new', 900],
  ]);
  // 200 ticks at 100 per second over 2 s: one core.
  assert.equal(coresBusy(before, after, 2_000, 100), 1);
  // A process restarted in between (its ticks went down) counts nothing, not a negative.
  assert.equal(coresBusy(new Map([['kafka', 900]]), new Map([['kafka', 100]]), 1_000, 100), 0);
  assert.equal(coresBusy(before, after, 0, 100), 0);
});

/** A fake stack whose processes use `coresPerWindow[i]` cores in the i-th window read. */
function fakeStack(coresPerWindow: number[], options: SettleOptions) {
  let now = 0;
  let ticks = 0;
  let window = 0;
  return {
    read: () => new Map([['kafka', ticks]]),
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        const cores = coresPerWindow[Math.min(window, coresPerWindow.length - 1)]!;
        window++;
        ticks += Math.round(cores * (ms / 1000) * 100);
        now += ms;
      },
    },
    options,
  };
}

const OPTIONS: SettleOptions = { maxCores: 0.5, windowMs: 3_000, timeoutMs: 30_000 };

test('settle waits through busy windows and goes on at the first quiet one', async () => {
  const s = fakeStack([1.8, 1.2, 0.6, 0.3, 0.1], OPTIONS);
  const r = await settle(s.read, 100, s.options, s.clock);
  assert.equal(r.settled, true);
  assert.equal(r.waitedMs, 12_000);
  assert.equal(r.coresBusy, 0.3);
  assert.equal(r.maxCores, 0.5);
});

test('settle on a quiet stack costs one window', async () => {
  const s = fakeStack([0.2], OPTIONS);
  const r = await settle(s.read, 100, s.options, s.clock);
  assert.deepEqual(r, { settled: true, coresBusy: 0.2, waitedMs: 3_000, maxCores: 0.5, windowMs: 3_000 });
});

test('settle gives up at the time limit and says the stack did not settle', async () => {
  const s = fakeStack([1.5], OPTIONS);
  const r = await settle(s.read, 100, s.options, s.clock);
  assert.equal(r.settled, false);
  assert.equal(r.waitedMs, 30_000);
  assert.equal(r.coresBusy, 1.5);
});
