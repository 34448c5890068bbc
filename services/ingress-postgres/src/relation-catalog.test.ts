// given the target's answer to the relation query and the cache's state, then table names by OID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { commandComplete, dataRow, errorResponse, readyForQuery, type BackendFrame } from '@agentgate/pg-wire';
import { invalidatesRelations, RelationCatalog, RelationReply, relationMessages } from './relation-catalog.js';
import type { RelationInfo } from './row-masking.js';

function fold(raws: Buffer[]): ReturnType<RelationReply['push']> {
  const reply = new RelationReply();
  let last: ReturnType<RelationReply['push']> = { done: false };
  for (const raw of raws) last = reply.push({ type: String.fromCharCode(raw[0]!), raw } as BackendFrame);
  return last;
}

test('rows of the catalog fold into tables with their columns by attribute number', () => {
  const out = fold([
    dataRow(['16384', 'public', 'customers', '1', 'id']),
    dataRow(['16384', 'public', 'customers', '5', 'card_number']),
    dataRow(['16390', 'secrets', 'api_keys', '3', 'key']),
    commandComplete('SELECT 3'),
    readyForQuery('I'),
  ]);
  assert.ok(out.done);
  assert.deepEqual(out.answer.get(16384), {
    schema: 'public',
    table: 'customers',
    columns: new Map([
      [1, 'id'],
      [5, 'card_number'],
    ]),
  });
  assert.equal(out.answer.get(16390)?.columns.get(3), 'key');
});

test('an error from the target fails the lookup (the statement is refused, not relayed unmasked)', () => {
  assert.throws(
    () => fold([errorResponse({ severity: 'ERROR', code: '42501', message: 'permission denied' }), readyForQuery('I')]),
    (e) => e instanceof GatewayError && e.code === 'AG_ERR_MASKING_UNSUPPORTED',
  );
});

test('the OIDs travel as one array parameter', () => {
  assert.ok(relationMessages([16384, 16390]).includes(Buffer.from('{16384,16390}')));
});

test('the cache answers within its ttl, asks again after it, and forgets a connection on DDL', async () => {
  let now = 0;
  const catalog = new RelationCatalog({ ttlMs: 1000, maxEntriesPerConnection: 100, now: () => now });
  const asked: number[][] = [];
  const info: RelationInfo = { schema: 'public', table: 't', columns: new Map([[1, 'a']]) };
  const query = async (missing: readonly number[]) => {
    asked.push([...missing]);
    return new Map(missing.filter((o) => o === 1).map((o) => [o, info]));
  };
  const first = await catalog.resolve('demo', [1, 2, 1], query);
  assert.equal(first(1), info);
  assert.equal(first(2), undefined);
  await catalog.resolve('demo', [1, 2], query);
  assert.deepEqual(asked, [[1, 2]], 'answers (found or not) are cached');
  now = 1500;
  await catalog.resolve('demo', [1], query);
  catalog.invalidate('demo');
  await catalog.resolve('demo', [1], query);
  await catalog.resolve('scratch', [1], query);
  assert.deepEqual(asked, [[1, 2], [1], [1], [1]]);
});

test('DDL that can rename or drop names invalidates; other commands do not', () => {
  for (const tag of ['ALTER TABLE', 'DROP TABLE', 'ALTER SCHEMA', 'DROP SCHEMA', 'CREATE VIEW', 'ALTER VIEW', 'DROP MATERIALIZED VIEW'])
    assert.equal(invalidatesRelations(tag), true, tag);
  for (const tag of ['SELECT 1', 'INSERT 0 1', 'CREATE TABLE', 'CREATE INDEX', 'UPDATE 3'])
    assert.equal(invalidatesRelations(tag), false, tag);
});
