import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOOKUP_CHUNK, planEventInsert, storedIdQueries, storedIdsOf } from './dedup.js';

const row = (id: string, hash: string, session = 's1') => ({ event_id: id, hash, session_id: session, id_conflict: 0 });

test('given stored events, when the same events come again, then they get no second row', () => {
  const plan = planEventInsert([row('e1', 'h1'), row('e2', 'h2')], storedIdsOf([{ session_id: 's1', event_id: 'e1', hash: 'h1' }]));
  assert.deepEqual(plan.insert, [row('e2', 'h2')]);
  assert.deepEqual([plan.duplicates, plan.conflicts], [1, 0]);
});

test('given a stored event, when a different event comes under its id, then it is kept and flagged', () => {
  const plan = planEventInsert([row('e1', 'other')], storedIdsOf([{ session_id: 's1', event_id: 'e1', hash: 'h1' }]));
  assert.deepEqual(plan.insert, [{ ...row('e1', 'other'), id_conflict: 1 }]);
  assert.deepEqual([plan.duplicates, plan.conflicts], [0, 1]);
});

test('within one batch: a copy is dropped, a different event under the same id is flagged', () => {
  const plan = planEventInsert([row('e1', 'h1'), row('e1', 'h1'), row('e1', 'h2'), row('e1', 'h2')], new Map());
  assert.deepEqual(plan.insert, [row('e1', 'h1'), { ...row('e1', 'h2'), id_conflict: 1 }]);
  assert.deepEqual([plan.duplicates, plan.conflicts], [2, 1]);
});

test('ids are compared within a session: the same id in another session is neither a copy nor a conflict', () => {
  const plan = planEventInsert(
    [row('e1', 'h1', 's2'), row('e1', 'h2', 's3')],
    storedIdsOf([{ session_id: 's1', event_id: 'e1', hash: 'h1' }]),
  );
  assert.deepEqual(plan.insert, [row('e1', 'h1', 's2'), row('e1', 'h2', 's3')]);
  assert.deepEqual([plan.duplicates, plan.conflicts], [0, 0]);
});

test('lookups name the sessions and ids, quoted, in chunks that stay far below max_query_size', () => {
  const many = Array.from({ length: LOOKUP_CHUNK * 2 + 1 }, (_, i) => row(`e${i}`, 'h', `s'${i % 3}`));
  const queries = storedIdQueries('agentgate', many);
  assert.equal(queries.length, 3);
  assert.ok(queries.every((q) => q.length < 128 * 1024));
  assert.match(queries[2] ?? '', /session_id IN \('s\\'2'\) AND event_id IN \('e2000'\)/);
});
