import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GroupBatch, groupCommit } from './group-commit.js';

const msg = (key: string): { key: string; value: Buffer } => ({ key, value: Buffer.from(key) });

function harness(outcome: () => Promise<void> = () => Promise.resolve()) {
  const sent: { batch: GroupBatch; timeoutMs: number }[] = [];
  const turns: (() => void)[] = [];
  const gc = groupCommit({
    send: (batch, timeoutMs) => {
      sent.push({ batch, timeoutMs });
      return outcome();
    },
    schedule: (f) => turns.push(f),
  });
  const endTurn = (): void => {
    for (const f of turns.splice(0)) f();
  };
  return { gc, sent, endTurn };
}

test('writes of one turn go out as one batch, grouped by topic in write order', async () => {
  const { gc, sent, endTurn } = harness();
  const done = [gc.write('a', msg('s1'), 100), gc.write('b', msg('s2'), 300), gc.write('a', msg('s3'), 200)];
  assert.equal(sent.length, 0, 'nothing is sent before the turn ends');
  endTurn();
  await Promise.all(done);
  assert.equal(sent.length, 1);
  assert.deepEqual(
    sent[0]!.batch.map((t) => [t.topic, t.messages.map((m) => m.key)]),
    [
      ['a', ['s1', 's3']],
      ['b', ['s2']],
    ],
  );
  assert.equal(sent[0]!.timeoutMs, 300);
  assert.deepEqual(gc.stats(), { flushes: 1, messages: 3 });
});

test('a write is acknowledged only when its batch is, and a failed batch fails every write in it', async () => {
  let fail: (e: Error) => void = () => {};
  const { gc, endTurn } = harness(() => new Promise<void>((_, reject) => (fail = reject)));
  let settled = false;
  const writes = [gc.write('a', msg('s1'), 100), gc.write('a', msg('s2'), 100)].map((p) =>
    p.then(
      () => 'ok',
      (e: Error) => e.message,
    ),
  );
  for (const w of writes) void w.then(() => (settled = true));
  endTurn();
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'no write resolves before the broker answers');
  fail(new Error('broker down'));
  assert.deepEqual(await Promise.all(writes), ['broker down', 'broker down']);
});

test('the next turn starts a new batch; a send that throws fails its writes', async () => {
  let calls = 0;
  const { gc, sent, endTurn } = harness(() => {
    calls++;
    if (calls === 2) throw new Error('sync throw');
    return Promise.resolve();
  });
  const first = gc.write('a', msg('s1'), 10);
  endTurn();
  await first;
  const second = gc.write('a', msg('s2'), 10);
  endTurn();
  await assert.rejects(second, /sync throw/);
  assert.equal(sent.length, 2);
});
