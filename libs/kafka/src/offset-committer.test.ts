import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offsetCommitter, type PartitionOffset } from './offset-committer.js';

function harness(commitImpl?: (o: PartitionOffset[]) => Promise<void>) {
  const commits: PartitionOffset[][] = [];
  const errors: unknown[] = [];
  let tick: (() => void) | undefined;
  const committer = offsetCommitter({
    intervalMs: 500,
    commit: async (offsets) => {
      commits.push(offsets);
      if (commitImpl) await commitImpl(offsets);
    },
    onError: (err) => errors.push(err),
    setInterval: (fn) => {
      tick = fn;
      return {};
    },
    clearInterval: () => {
      tick = undefined;
    },
  });
  return { committer, commits, errors, tick: () => tick?.() };
}

test('nothing is committed until the timer fires; then the next offset to read, once per partition', async () => {
  const h = harness();
  h.committer.start();
  h.committer.processed('t', 0, '41');
  h.committer.processed('t', 0, '42');
  h.committer.processed('t', 1, '7');
  assert.equal(h.commits.length, 0);
  h.tick();
  await h.committer.flush();
  assert.deepEqual(h.commits, [
    [
      { topic: 't', partition: 0, offset: '43' },
      { topic: 't', partition: 1, offset: '8' },
    ],
  ]);
  h.tick();
  await h.committer.flush();
  assert.equal(h.commits.length, 1, 'no progress, no commit');
});

test('progress never moves backwards within a flush interval', async () => {
  const h = harness();
  h.committer.processed('t', 0, '100');
  h.committer.processed('t', 0, '90');
  await h.committer.flush();
  assert.deepEqual(h.commits, [[{ topic: 't', partition: 0, offset: '101' }]]);
});

test('a failed commit is retried with the next one, unless newer progress replaced it', async () => {
  let fail = true;
  const h = harness(async () => {
    if (fail) throw new Error('coordinator moved');
  });
  h.committer.processed('t', 0, '5');
  h.committer.processed('t', 1, '9');
  await h.committer.flush();
  assert.equal(h.errors.length, 1);
  fail = false;
  h.committer.processed('t', 1, '12');
  await h.committer.flush();
  assert.deepEqual(
    [...(h.commits[1] ?? [])].sort((a, b) => a.partition - b.partition),
    [
      { topic: 't', partition: 0, offset: '6' },
      { topic: 't', partition: 1, offset: '13' },
    ],
  );
});

test('after a rebalance, progress on partitions now owned by others is dropped', async () => {
  const h = harness();
  h.committer.processed('t', 0, '5');
  h.committer.processed('t', 3, '9');
  h.committer.retain({ t: [3] });
  await h.committer.flush();
  assert.deepEqual(h.commits, [[{ topic: 't', partition: 3, offset: '10' }]]);
});

test('commits run one at a time, and stop commits what is left', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let first = true;
  const h = harness(async () => {
    if (first) {
      first = false;
      await gate;
    }
  });
  h.committer.start();
  h.committer.processed('t', 0, '1');
  const slow = h.committer.flush();
  h.committer.processed('t', 0, '2');
  const stopped = h.committer.stop();
  await new Promise((r) => setImmediate(r));
  assert.equal(h.commits.length, 1, 'the second commit waits for the first');
  release();
  await Promise.all([slow, stopped]);
  assert.deepEqual(
    h.commits.map((c) => c[0]?.offset),
    ['2', '3'],
  );
});
