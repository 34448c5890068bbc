import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSqlParser } from '@agentgate/sql';
import { resolveSqlReferences, type NamedSql } from './sql-references.js';

const parser = await loadSqlParser();
const empty: NamedSql = { statements: new Map(), portals: new Map() };

function resolve(sql: string, known: NamedSql = empty) {
  const c = parser.classify(sql);
  assert.ok(c.ok);
  return resolveSqlReferences(c.statements, known);
}

test('given PREPARE then EXECUTE in one string, then the EXECUTE runs the PREPARE text', () => {
  const [prepare, execute] = resolve('prepare p as delete from t; execute p');
  assert.deepEqual(prepare?.effect, { kind: 'prepare', name: 'p', sql: 'prepare p as delete from t' });
  assert.equal(execute?.runs, 'prepare p as delete from t');
  assert.equal(execute?.unknownStatement, null);
});

test('given an EXECUTE of a name prepared earlier (at the SQL level or by Parse), then it runs that text', () => {
  const known: NamedSql = { statements: new Map([['s1', { sql: 'delete from t' }]]), portals: new Map() };
  assert.equal(resolve('execute s1', known)[0]?.runs, 'delete from t');
});

test('given an EXECUTE of a name the gateway never saw, then it is unknown', () => {
  assert.equal(resolve('execute nowhere(1)')[0]?.unknownStatement, 'nowhere');
  assert.equal(
    resolve('deallocate all; execute p', { statements: new Map([['p', { sql: 'select 1' }]]), portals: new Map() })[1]?.unknownStatement,
    'p',
  );
});

test('given DECLARE then FETCH and MOVE, then they run the DECLARE text; a FETCH of an unknown cursor runs nothing new', () => {
  const [declare, fetch, move] = resolve('declare c cursor for select * from t; fetch 5 from c; move next in c');
  assert.deepEqual(declare?.effect, { kind: 'declare', name: 'c', sql: 'declare c cursor for select * from t' });
  assert.equal(fetch?.runs, 'declare c cursor for select * from t');
  assert.equal(move?.runs, 'declare c cursor for select * from t');
  assert.equal(resolve('fetch all in "<unnamed portal 1>"')[0]?.runs, null);
});

test('DEALLOCATE, CLOSE and DISCARD ALL say what they drop; DISCARD PLANS drops nothing', () => {
  assert.deepEqual(resolve('deallocate p')[0]?.effect, { kind: 'deallocate', name: 'p' });
  assert.deepEqual(resolve('deallocate all')[0]?.effect, { kind: 'deallocate', name: null });
  assert.deepEqual(resolve('close c')[0]?.effect, { kind: 'close-cursor', name: 'c' });
  assert.deepEqual(resolve('close all')[0]?.effect, { kind: 'close-cursor', name: null });
  assert.deepEqual(resolve('discard all')[0]?.effect, { kind: 'discard-all' });
  assert.equal(resolve('discard plans')[0]?.effect, null);
});
