// Given a pool of test workers (test-worker.ts), when jobs are submitted, then they run in arrival
// order, large jobs leave a worker free for short ones, a full queue refuses at once; and when a
// worker hangs, crashes, cannot start, or the adapter says it must go, then the job resolves as the
// adapter's fail-closed result and the worker is replaced; close() answers what is pending.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type JobFailure, WorkerPool, type WorkerPoolOptions } from './index.js';
import type { TestCommand, TestMessage, TestRequest, TestWorkerData } from './test-worker.js';

type Result = { value: string; tag: string } | { failed: JobFailure };

interface Setup extends Partial<WorkerPoolOptions> {
  /** A worker is replaced after its answer number `recycleAfter`. */
  recycleAfter?: number;
  /** 'closed' rejects (as the SQL pool does) instead of resolving. */
  rejectClosed?: boolean;
  /** Asked at each start: should this worker (0 = the first) fail to start? */
  failStart?: (n: number) => boolean;
}

const pools: WorkerPool<TestCommand, Result, TestMessage>[] = [];
test.after(() => Promise.all(pools.map((p) => p.close())));

function testPool(setup: Setup = {}): WorkerPool<TestCommand, Result, TestMessage> {
  const { recycleAfter, rejectClosed, failStart, ...options } = setup;
  let started = 0;
  const pool = new WorkerPool<TestCommand, Result, TestMessage>(
    {
      name: 'test',
      script: new URL('./test-worker.js', import.meta.url),
      workerData: (): TestWorkerData => {
        const n = started++;
        return failStart?.(n) ? { tag: `w${n}`, failStart: true } : { tag: `w${n}` };
      },
      workers: 1,
      timeoutMs: 5000,
      maxOldGenerationMb: 64,
      restartPauseMs: 100,
      ...options,
    },
    {
      request: (command, id): TestRequest => ({ id, command }),
      answer: (_command, reply) => ({
        result: { value: reply.value, tag: reply.tag },
        replace: recycleAfter !== undefined && reply.answered >= recycleAfter,
      }),
      fail: (_command, failure) => {
        if (rejectClosed && failure.kind === 'closed') throw new Error('the test pool is closed');
        return { failed: failure };
      },
      gauge: (msg) => msg.answered,
    },
  );
  pools.push(pool);
  return pool;
}

async function ready(setup: Setup = {}): Promise<WorkerPool<TestCommand, Result, TestMessage>> {
  const pool = testPool(setup);
  await pool.whenReady();
  return pool;
}

const echo = (value: string): TestCommand => ({ op: 'echo', value });
const block = (ms: number, value: string): TestCommand => ({ op: 'block', ms, value });
const shown = (r: Result) => ('value' in r ? r.value : `failed ${r.failed.kind}`);

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('jobs are answered in arrival order', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 1 });
  const finished: string[] = [];
  const values = ['a', 'b', 'c', 'd', 'e'];
  await Promise.all(values.map((v, i) => pool.submit(i % 2 ? block(20, v) : echo(v)).then((r) => finished.push(shown(r)))));
  assert.deepEqual(finished, values);
  assert.deepEqual([pool.stats().answered, pool.stats().queueLength, pool.stats().busyWorkers], [5, 0, 0]);
});

test('large jobs never take the last free worker: a short job overtakes a waiting large one', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 2 });
  const finished: string[] = [];
  const track = (p: Promise<Result>) => p.then((r) => finished.push(shown(r)));
  const done = [
    track(pool.submit(block(300, 'big1'), true)),
    track(pool.submit(block(300, 'big2'), true)),
    track(pool.submit(echo('small'))),
  ];
  // Dispatch is synchronous: big1 and the short one run, big2 waits for big1's worker.
  assert.deepEqual([pool.stats().busyWorkers, pool.stats().queueLength], [2, 1]);
  await Promise.all(done);
  assert.deepEqual(finished, ['small', 'big1', 'big2']);
});

test('with one worker a large job takes it, and what is queued behind waits', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 1 });
  const finished: string[] = [];
  const big = pool.submit(block(200, 'big'), true).then((r) => finished.push(shown(r)));
  const small = pool.submit(echo('small')).then((r) => finished.push(shown(r)));
  assert.deepEqual([pool.stats().busyWorkers, pool.stats().queueLength], [1, 1]);
  await Promise.all([big, small]);
  assert.deepEqual(finished, ['big', 'small']);
});

test('a job past its timeout fails "timeout"; its worker is terminated and replaced', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 1, timeoutMs: 200 });
  const started = performance.now();
  assert.deepEqual(await pool.submit({ op: 'hang' }), { failed: { kind: 'timeout', timeoutMs: 200 } });
  assert.ok(performance.now() - started < 5000);
  assert.deepEqual(await pool.submit(echo('next')), { value: 'next', tag: 'w1' });
  const { timeouts, recycles, failures } = pool.stats();
  assert.deepEqual({ timeouts, recycles, failures }, { timeouts: 1, recycles: 1, failures: 0 });
});

test('a worker that exits or throws mid-job fails that job only ("crashed"), and is replaced', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 2 });
  for (const op of ['exit', 'throw'] as const) {
    const [crashed, a, b] = await Promise.all([pool.submit({ op }), pool.submit(echo('a')), pool.submit(echo('b'))]);
    assert.ok('failed' in crashed && crashed.failed.kind === 'crashed', JSON.stringify(crashed));
    assert.match(
      crashed.failed.reason,
      op === 'exit' ? /^the test worker exited with code 70$/ : /^the test worker exited with code 1 \(injected test worker fault\)$/,
    );
    assert.deepEqual([shown(a), shown(b)], ['a', 'b']);
  }
  await until(() => pool.stats().workers === 2, 'both workers back');
  const { failures, recycles, timeouts } = pool.stats();
  assert.deepEqual({ failures, recycles, timeouts }, { failures: 2, recycles: 2, timeouts: 0 });
});

test('over a full queue a job fails "overloaded" at once; the queued ones are still answered', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 1, maxQueue: 2 });
  const running = pool.submit(block(500, 'running'));
  const queued = [pool.submit(echo('q1')), pool.submit(echo('q2'))];
  assert.equal(pool.stats().queueLength, 2);
  const started = performance.now();
  assert.deepEqual(await pool.submit(echo('one too many')), { failed: { kind: 'overloaded' } });
  assert.ok(performance.now() - started < 250, 'the refusal waited for the running job');
  assert.equal(pool.stats().overloaded, 1);
  assert.deepEqual((await Promise.all([running, ...queued])).map(shown), ['running', 'q1', 'q2']);
});

test('a worker the adapter gives up after an answer delivers that answer, then is replaced', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 1, recycleAfter: 2 });
  assert.deepEqual(await pool.submit(echo('1')), { value: '1', tag: 'w0' });
  assert.equal(pool.stats().largestGauge, 1, "the gauge is the live worker's latest");
  assert.deepEqual(await pool.submit(echo('2')), { value: '2', tag: 'w0' });
  assert.deepEqual(await pool.submit(echo('3')), { value: '3', tag: 'w1' });
  const { recycles, failures, answered, largestGauge } = pool.stats();
  assert.deepEqual({ recycles, failures, answered, largestGauge }, { recycles: 1, failures: 0, answered: 3, largestGauge: 1 });
});

test('a replacement that cannot start is tried again after the pause; meanwhile what waits fails "no-worker"', {
  timeout: 30_000,
}, async () => {
  let broken = false;
  const pool = await ready({ workers: 1, restartPauseMs: 100, failStart: (n) => n > 0 && broken });
  broken = true;
  const [crashed, waiting] = await Promise.all([pool.submit({ op: 'exit' }), pool.submit(echo('waiting'))]);
  assert.ok('failed' in crashed && crashed.failed.kind === 'crashed');
  assert.ok('failed' in waiting && waiting.failed.kind === 'no-worker', JSON.stringify(waiting));
  assert.match(waiting.failed.reason, /told not to start/);
  assert.equal(pool.stats().workers, 0);
  await new Promise((resolve) => setTimeout(resolve, 250));
  broken = false;
  await until(() => pool.stats().workers === 1, 'a worker started after the pause');
  assert.equal(shown(await pool.submit(echo('later'))), 'later');
  assert.equal(pool.stats().failures, 2);
  assert.ok(pool.stats().recycles >= 3, `recycles: ${pool.stats().recycles}`);
});

test('when a first worker cannot start, whenReady rejects with why and the pool is closed', { timeout: 30_000 }, async () => {
  const pool = testPool({ workers: 2, failStart: (n) => n === 1 });
  await assert.rejects(pool.whenReady(), /worker w1 was told not to start/);
  assert.ok(pool.closed);
  assert.deepEqual([pool.stats().workers, pool.stats().recycles], [0, 0]);
  assert.deepEqual(await pool.submit(echo('x')), { failed: { kind: 'closed' } });
});

test('close() fails what is pending "closed", ends every worker, and is idempotent', { timeout: 30_000 }, async () => {
  const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
  const before = ports();
  const pool = await ready({ workers: 2, maxQueue: 1 });
  assert.equal(ports(), before + 2);
  const pending = [pool.submit({ op: 'hang' }), pool.submit({ op: 'hang' }), pool.submit(echo('queued'))];
  assert.deepEqual([pool.stats().busyWorkers, pool.stats().queueLength], [2, 1]);
  await pool.close();
  assert.equal(ports(), before);
  assert.deepEqual(await Promise.all(pending), Array(3).fill({ failed: { kind: 'closed' } }));
  assert.deepEqual(await pool.submit(echo('after')), { failed: { kind: 'closed' } });
  await pool.close();
  assert.deepEqual([pool.stats().workers, pool.stats().queueLength, pool.stats().overloaded], [0, 0, 0]);
});

test('an adapter whose fail() throws for "closed" rejects what is pending at close()', { timeout: 30_000 }, async () => {
  const pool = await ready({ workers: 1, rejectClosed: true });
  const running = assert.rejects(pool.submit({ op: 'hang' }), /the test pool is closed/);
  const queued = assert.rejects(pool.submit(echo('queued')), /the test pool is closed/);
  await pool.close();
  await Promise.all([running, queued]);
  await assert.rejects(pool.submit(echo('after')), /the test pool is closed/);
});

test('options are checked before any worker starts', () => {
  assert.throws(() => testPool({ workers: 0 }), RangeError);
  assert.throws(() => testPool({ timeoutMs: 0 }), RangeError);
});
