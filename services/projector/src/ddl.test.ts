import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventsMigration, projectionDdl } from './ddl.js';

/** The column names CREATE TABLE gives the events table. */
function createdColumns(): Set<string> {
  const create = projectionDdl('agentgate').find((s) => s.includes('.events ('));
  assert.ok(create);
  const body = create.slice(create.indexOf('(') + 1, create.indexOf(') ENGINE'));
  return new Set(body.split(',').map((c) => c.trim().split(/\s+/)[0] ?? ''));
}

test('a fresh events table has subject and actor, and no actor_subject', () => {
  const columns = createdColumns();
  for (const c of ['subject', 'actor', 'actor_chain']) assert.ok(columns.has(c), c);
  assert.equal(columns.has('actor_subject'), false);
  assert.deepEqual(eventsMigration('agentgate', columns), { add: [], backfill: undefined, drop: [] });
});

test('a layout-1 table gets both columns, a backfill from actor_subject and the chain, then loses actor_subject', () => {
  const layout1 = new Set([...createdColumns()].filter((c) => c !== 'subject' && c !== 'actor').concat('actor_subject'));
  const m = eventsMigration('agentgate', layout1);
  assert.deepEqual(m.add, [
    'ALTER TABLE `agentgate`.events ADD COLUMN subject String AFTER hash_valid',
    'ALTER TABLE `agentgate`.events ADD COLUMN actor String AFTER subject',
  ]);
  assert.match(m.backfill ?? '', /UPDATE subject = actor_subject, actor = if\(empty\(actor_chain\), actor_subject, actor_chain\[-1\]\)/);
  assert.deepEqual(m.drop, ['ALTER TABLE `agentgate`.events DROP COLUMN actor_subject']);
});

test('a migration interrupted after adding the columns resumes with the backfill and the drop only', () => {
  const interrupted = new Set([...createdColumns(), 'actor_subject']);
  const m = eventsMigration('agentgate', interrupted);
  assert.deepEqual(m.add, []);
  assert.ok(m.backfill);
  assert.equal(m.drop.length, 1);
});

test('a layout-2 table gets the shadow column (default 0: its verdicts were all live) and nothing else', () => {
  const layout2 = new Set([...createdColumns()].filter((c) => c !== 'shadow'));
  assert.deepEqual(eventsMigration('agentgate', layout2), {
    add: ['ALTER TABLE `agentgate`.events ADD COLUMN shadow UInt8 DEFAULT 0'],
    backfill: undefined,
    drop: [],
  });
});

test('policy publications have a table of their own', () => {
  assert.ok(projectionDdl('agentgate').some((s) => s.includes('`agentgate`.policy_publications (')));
});
