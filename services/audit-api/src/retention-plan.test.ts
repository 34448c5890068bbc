// The retention planner: given partitions, holds and a cutoff, then the plan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionsOf } from './governance-queries.js';
import { cutoffFor, monthEndUs, planRetention, type PartitionInfo } from './retention-plan.js';

const us = (iso: string): number => Date.parse(iso) * 1000;

const parts: PartitionInfo[] = [
  { partition: '202503', rows: 30, tables: ['events', 'sessions_state'] },
  { partition: '202501', rows: 10, tables: ['sessions_state', 'events', 'requests_state'] },
  { partition: '202502', rows: 20, tables: ['events'] },
];

test('given a cutoff inside March, then January and February are dropped, oldest first, and March is not planned', () => {
  const plan = planRetention({ partitions: parts, heldSessionsByPartition: new Map(), cutoffUs: us('2025-03-10T00:00:00Z') });
  assert.deepEqual(plan, [
    { partition: '202501', action: 'drop', tables: ['events', 'requests_state', 'sessions_state'], rows: 10, heldSessions: [] },
    { partition: '202502', action: 'drop', tables: ['events'], rows: 20, heldSessions: [] },
  ]);
});

test('given a held session with events in January, then January is kept and names it; February is still dropped', () => {
  const plan = planRetention({
    partitions: parts,
    heldSessionsByPartition: new Map([['202501', ['s-2', 's-1', 's-2']]]),
    cutoffUs: us('2025-03-10T00:00:00Z'),
  });
  assert.deepEqual(
    plan.map((p) => [p.partition, p.action, p.heldSessions]),
    [
      ['202501', 'keep', ['s-1', 's-2']],
      ['202502', 'drop', []],
    ],
  );
});

test('given a cutoff exactly at the end of a month, then that month is dropped; a microsecond earlier, it is not', () => {
  const end = us('2025-02-01T00:00:00Z');
  assert.equal(monthEndUs('202501'), end);
  assert.deepEqual(
    planRetention({ partitions: parts, heldSessionsByPartition: new Map(), cutoffUs: end }).map((p) => p.partition),
    ['202501'],
  );
  assert.deepEqual(planRetention({ partitions: parts, heldSessionsByPartition: new Map(), cutoffUs: end - 1 }), []);
});

test('given December, then its end is the first of January of the next year', () => {
  assert.equal(monthEndUs('202412'), us('2025-01-01T00:00:00Z'));
});

test('given a partition that is not a month number, then it is never planned', () => {
  const plan = planRetention({
    partitions: [{ partition: 'tuple()', rows: 5, tables: ['events'] }, ...parts],
    heldSessionsByPartition: new Map(),
    cutoffUs: us('2030-01-01T00:00:00Z'),
  });
  assert.deepEqual(
    plan.map((p) => p.partition),
    ['202501', '202502', '202503'],
  );
});

test('given 400 days, then the cutoff is 400 days of microseconds before now', () => {
  const now = us('2026-11-28T12:00:00Z');
  assert.equal(cutoffFor(now, 400), us('2025-10-24T12:00:00Z'));
});

test('system.parts rows fold into one entry per month: every table, events rows only', () => {
  assert.deepEqual(
    partitionsOf([
      { table: 'events', partition: '202501', rows: '7' },
      { table: 'sessions_state', partition: '202501', rows: '99' },
      { table: 'events', partition: "'202502'", rows: 3 },
    ]),
    [
      { partition: '202501', rows: 7, tables: ['events', 'sessions_state'] },
      { partition: '202502', rows: 3, tables: ['events'] },
    ],
  );
});
