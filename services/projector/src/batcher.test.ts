import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatcher, type Batch, type Batcher, type StoredPosition } from './batcher.js';

// Rows are named `${partition}@${offset}`; topic `t` unless said otherwise.
type Step =
  | { add: [partition: number, offset: number, table?: string | null]; at?: number }
  | { due: string[]; at: number; all?: boolean }
  | { take: string; rows: string[]; check?: boolean }
  | { take: string; none: true }
  | { landed: [partition: number, offset: number][]; rows: string[] }
  | { ok: true; advanced: [partition: number, offset: number][] }
  | { fail: true }
  | { committable: Record<number, number> };

interface Case {
  name: string;
  maxRows?: number;
  maxAgeMs?: number;
  stored?: [table: string, partition: number, offset: number][];
  steps: Step[];
}

const cases: Case[] = [
  {
    name: 'a batch is due when it reaches maxRows, not before',
    maxRows: 3,
    steps: [
      { add: [0, 0] },
      { add: [0, 1] },
      { due: [], at: 0 },
      { add: [0, 2] },
      { due: ['events'], at: 0 },
      { take: 'events', rows: ['0@0', '0@1', '0@2'] },
    ],
  },
  {
    name: 'a batch is due when its oldest row is maxAgeMs old',
    maxAgeMs: 250,
    steps: [
      { add: [0, 0], at: 100 },
      { add: [0, 1], at: 300 },
      { due: [], at: 349 },
      { due: ['events'], at: 350 },
    ],
  },
  {
    name: 'a batch never holds more than maxRows; the rest waits for the next',
    maxRows: 2,
    steps: [
      { add: [0, 0] },
      { add: [0, 1] },
      { add: [0, 2] },
      { take: 'events', rows: ['0@0', '0@1'] },
      { take: 'events', none: true },
      { ok: true, advanced: [[0, 1]] },
      { take: 'events', rows: ['0@2'] },
      { ok: true, advanced: [[0, 2]] },
    ],
  },
  {
    name: 'nothing is committable before ClickHouse has the rows',
    steps: [
      { add: [0, 0] },
      { add: [0, 1] },
      { take: 'events', rows: ['0@0', '0@1'] },
      { committable: { 0: -1 } },
      { ok: true, advanced: [[0, 1]] },
    ],
  },
  {
    name: 'a failed insert commits nothing and is retried with the same rows first, checked before it is repeated',
    steps: [
      { add: [0, 0] },
      { add: [0, 1] },
      { take: 'events', rows: ['0@0', '0@1'] },
      { fail: true },
      { committable: { 0: -1 } },
      { add: [0, 2] },
      { due: ['events'], at: 0, all: true },
      { take: 'events', rows: ['0@0', '0@1', '0@2'], check: true },
      { landed: [], rows: ['0@0', '0@1', '0@2'] },
      { ok: true, advanced: [[0, 2]] },
    ],
  },
  {
    name: 'a failed insert that landed anyway (a timeout after the server wrote it) is not inserted twice',
    steps: [
      { add: [0, 0] },
      { add: [1, 0] },
      { add: [0, 1] },
      { take: 'events', rows: ['0@0', '1@0', '0@1'] },
      { fail: true },
      { add: [0, 2] },
      { take: 'events', rows: ['0@0', '1@0', '0@1', '0@2'], check: true },
      {
        landed: [
          [0, 1],
          [1, 0],
        ],
        rows: ['0@2'],
      },
      {
        ok: true,
        advanced: [
          [0, 2],
          [1, 0],
        ],
      },
    ],
  },
  {
    name: 'a check that fails too leaves the rows at the front and the check pending',
    steps: [
      { add: [0, 0] },
      { take: 'events', rows: ['0@0'] },
      { fail: true },
      { take: 'events', rows: ['0@0'], check: true },
      { fail: true },
      { take: 'events', rows: ['0@0'], check: true },
      { landed: [], rows: ['0@0'] },
      { ok: true, advanced: [[0, 0]] },
    ],
  },
  {
    name: 'offsets never go backwards: a redelivered message is ignored and waits for its first copy',
    steps: [
      { add: [0, 0] },
      { add: [0, 1] },
      { take: 'events', rows: ['0@0', '0@1'] },
      { add: [0, 0] },
      { add: [0, 1] },
      { ok: true, advanced: [[0, 1]] },
      { add: [0, 1] },
      { add: [0, 0] },
      { due: [], at: 10_000, all: true },
      { committable: { 0: 1 } },
    ],
  },
  {
    name: 'interleaved partitions: each commits the offsets of its own that are in ClickHouse',
    maxRows: 3,
    steps: [
      { add: [0, 10] },
      { add: [1, 20] },
      { add: [0, 11] },
      { add: [1, 21] },
      { add: [2, 30] },
      { take: 'events', rows: ['0@10', '1@20', '0@11'] },
      {
        ok: true,
        advanced: [
          [0, 11],
          [1, 20],
        ],
      },
      { committable: { 0: 11, 1: 20, 2: -1 } },
      { take: 'events', rows: ['1@21', '2@30'] },
      {
        ok: true,
        advanced: [
          [1, 21],
          [2, 30],
        ],
      },
    ],
  },
  {
    name: 'a message without a row commits only once the rows before it are in',
    steps: [
      { add: [0, 0] },
      { add: [0, 1, null] },
      { add: [0, 2, null] },
      { committable: { 0: -1 } },
      { take: 'events', rows: ['0@0'] },
      { ok: true, advanced: [[0, 2]] },
      { add: [0, 3, null] },
      { committable: { 0: 3 } },
    ],
  },
  {
    name: 'rows of one partition in two tables: an offset commits when both tables have what precedes it',
    steps: [
      { add: [0, 0] },
      { add: [0, 1, 'events_rejected'] },
      { add: [0, 2] },
      { take: 'events', rows: ['0@0', '0@2'] },
      { ok: true, advanced: [[0, 0]] },
      { take: 'events_rejected', rows: ['0@1'] },
      { ok: true, advanced: [[0, 2]] },
    ],
  },
  {
    name: 'one batch in flight per table; other tables flush meanwhile',
    steps: [
      { add: [0, 0] },
      { add: [1, 0, 'events_rejected'] },
      { take: 'events', rows: ['0@0'] },
      { add: [0, 1] },
      { due: ['events_rejected'], at: 0, all: true },
      { take: 'events', none: true },
    ],
  },
  {
    name: 'messages already stored (read back at start) need no row, per table',
    stored: [
      ['events', 0, 5],
      ['events_rejected', 0, 3],
    ],
    steps: [
      { add: [0, 3, 'events_rejected'] },
      { add: [0, 4] },
      { add: [0, 5] },
      { committable: { 0: 5 } },
      { add: [0, 6] },
      { take: 'events', rows: ['0@6'] },
      { ok: true, advanced: [[0, 6]] },
    ],
  },
  {
    name: 'a message stored in one table is not taken for stored in another',
    stored: [['events', 0, 5]],
    steps: [{ add: [0, 4, 'events_rejected'] }, { take: 'events_rejected', rows: ['0@4'] }, { ok: true, advanced: [[0, 4]] }],
  },
];

function run(c: Case): void {
  const stored: StoredPosition[] = (c.stored ?? []).map(([table, partition, offset]) => ({
    table,
    topic: 't',
    partition,
    offset: BigInt(offset),
  }));
  const b: Batcher<string> = createBatcher<string>({ maxRows: c.maxRows ?? 10_000, maxAgeMs: c.maxAgeMs ?? 250 }, stored);
  let batch: Batch<string> | undefined;
  const pos = (partition: number, offset: number) => ({ topic: 't', partition, offset: BigInt(offset) });
  for (const [i, step] of c.steps.entries()) {
    const at = `step ${i}: ${JSON.stringify(step)}`;
    if ('add' in step) {
      const [partition, offset, table = 'events'] = step.add;
      b.add(pos(partition, offset), table === null ? undefined : { table, row: `${partition}@${offset}` }, step.at ?? 0);
    } else if ('due' in step) {
      assert.deepEqual(b.due(step.at, step.all), step.due, at);
    } else if ('none' in step) {
      assert.equal(b.take(step.take), undefined, at);
    } else if ('take' in step) {
      batch = b.take(step.take);
      assert.ok(batch, at);
      assert.deepEqual(batch.rows, step.rows, at);
      assert.equal(batch.check, step.check ?? false, at);
    } else if ('landed' in step) {
      assert.ok(batch, at);
      const table = batch.table;
      batch = b.landed(
        batch.id,
        step.landed.map(([partition, offset]) => ({ table, ...pos(partition, offset) })),
      );
      assert.deepEqual(batch.rows, step.rows, at);
    } else if ('ok' in step) {
      assert.ok(batch, at);
      const advanced = b.succeeded(batch.id).map((p) => [p.partition, Number(p.offset)]);
      assert.deepEqual(advanced.sort(), step.advanced, at);
    } else if ('fail' in step) {
      assert.ok(batch, at);
      b.failed(batch.id);
    } else {
      for (const [partition, offset] of Object.entries(step.committable)) {
        assert.equal(b.committable('t', Number(partition)), BigInt(offset), at);
      }
    }
  }
}

for (const c of cases) test(c.name, () => run(c));

test('nextDueInMs: the time until the oldest waiting row reaches maxAgeMs; none when nothing waits', () => {
  const b = createBatcher<string>({ maxRows: 10, maxAgeMs: 250 });
  assert.equal(b.nextDueInMs(0), undefined);
  b.add({ topic: 't', partition: 0, offset: 0n }, { table: 'events', row: 'a' }, 100);
  b.add({ topic: 't', partition: 0, offset: 1n }, { table: 'events', row: 'b' }, 200);
  assert.equal(b.nextDueInMs(150), 200);
  assert.equal(b.nextDueInMs(400), 0);
  const batch = b.take('events');
  assert.ok(batch);
  assert.equal(b.nextDueInMs(400), undefined, 'a table in flight waits for its outcome, not for a timer');
});

test('partitions(): unprojected messages and the event time of the oldest, per partition', () => {
  const b = createBatcher<string>({ maxRows: 10, maxAgeMs: 250 });
  b.add({ topic: 't', partition: 0, offset: 0n }, { table: 'events', row: 'a' }, 1000, 500);
  b.add({ topic: 't', partition: 0, offset: 1n }, undefined, 1000, 900);
  b.add({ topic: 't', partition: 0, offset: 2n }, { table: 'events', row: 'b' }, 1000, 700);
  assert.deepEqual(b.partitions(), [{ topic: 't', partition: 0, committable: -1n, unprojected: 2, oldestUnprojectedMs: 500 }]);
  const batch = b.take('events');
  assert.ok(batch);
  b.succeeded(batch.id);
  assert.deepEqual(b.partitions(), [{ topic: 't', partition: 0, committable: 2n, unprojected: 0, oldestUnprojectedMs: undefined }]);
  assert.deepEqual(b.committables(), [{ topic: 't', partition: 0, offset: 2n }]);
  assert.equal(b.pendingRows(), 0);
});

test('forget: a partition that moved away drops its waiting rows, commits nothing more, and starts afresh', () => {
  const b = createBatcher<string>({ maxRows: 10, maxAgeMs: 250 });
  const at = (partition: number, offset: number) => ({ topic: 't', partition, offset: BigInt(offset) });
  b.add(at(0, 0), { table: 'events', row: '0@0' }, 0);
  const inFlight = b.take('events');
  assert.ok(inFlight);
  b.add(at(0, 1), { table: 'events', row: '0@1' }, 0);
  b.add(at(1, 0), { table: 'events', row: '1@0' }, 0);
  b.forget('t', 0);
  assert.deepEqual(b.succeeded(inFlight.id), [], "rows in flight land, but the partition is no longer this one's to commit");
  assert.deepEqual(b.take('events')?.rows, ['1@0']);
  b.add(at(0, 1), { table: 'events', row: '0@1 again' }, 0);
  assert.equal(b.pendingRows(), 2, 'a partition that comes back is read again from its last commit');
});

test('random runs: committable offsets never go backwards and never pass a row that is not in', () => {
  // A small deterministic PRNG (mulberry32) so a failure replays.
  let seed = 12_345;
  const rand = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let run = 0; run < 200; run++) {
    const b = createBatcher<string>({ maxRows: 1 + Math.floor(rand() * 5), maxAgeMs: 10 });
    const next = [0, 0, 0];
    const inserted = new Set<string>();
    const last = [-1n, -1n, -1n];
    const flights = new Map<string, Batch<string>>();
    for (let step = 0; step < 200; step++) {
      const r = rand();
      if (r < 0.5) {
        const p = Math.floor(rand() * 3);
        const offset = next[p]!++;
        const kind = rand();
        const table = kind < 0.1 ? null : kind < 0.25 ? 'events_rejected' : 'events';
        b.add({ topic: 't', partition: p, offset: BigInt(offset) }, table === null ? undefined : { table, row: `${p}@${offset}` }, step);
        if (table === null) inserted.add(`${p}@${offset}`);
        // Redelivery of something older changes nothing.
        if (offset > 0 && rand() < 0.1)
          b.add({ topic: 't', partition: p, offset: BigInt(offset - 1) }, { table: 'events', row: 'dup' }, step);
      } else {
        for (const table of b.due(step, rand() < 0.2)) {
          const batch = b.take(table);
          if (batch) flights.set(table, batch);
        }
        for (const [table, batch] of flights) {
          if (rand() < 0.5) continue;
          flights.delete(table);
          if (rand() < 0.3) {
            b.failed(batch.id);
          } else {
            for (const row of batch.rows) {
              assert.notEqual(row, 'dup');
              assert.ok(!inserted.has(row), `${row} inserted twice`);
              inserted.add(row);
            }
            b.succeeded(batch.id);
          }
        }
      }
      for (let p = 0; p < 3; p++) {
        const c = b.committable('t', p);
        assert.ok(c >= last[p]!, 'committable went backwards');
        last[p] = c;
        for (let o = 0n; o <= c; o++) assert.ok(inserted.has(`${p}@${o}`), `committed ${p}@${o} before it was in`);
      }
    }
  }
});
