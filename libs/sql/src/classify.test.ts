import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSqlParser } from './index.js';

const parser = await loadSqlParser();

test('single statements are classified by their parser node', () => {
  assert.equal(parser.classify('select 1').statementKind, 'SelectStmt');
  assert.equal(parser.classify('DROP TABLE public.customers').statementKind, 'DropStmt');
  assert.equal(parser.classify('drop database demo').statementKind, 'DropdbStmt');
  assert.equal(parser.classify('BEGIN').statementKind, 'TransactionStmt');
});

test('multi-statement strings list every kind', () => {
  const c = parser.classify("select 1; /* ; */ drop table x; insert into t values (';')");
  assert.equal(c.statementKind, 'MULTI');
  assert.deepEqual(c.statementKinds, ['SelectStmt', 'DropStmt', 'InsertStmt']);
  assert.deepEqual(
    c.statements.map((s) => s.text),
    ['select 1', '/* ; */ drop table x', "insert into t values (';')"],
  );
});

test('a DROP hidden in a comment or a string is not a DROP', () => {
  assert.deepEqual(parser.classify("select 'drop table x' -- drop table y").statementKinds, ['SelectStmt']);
});

test('statement texts are cut at byte offsets, so multi-byte characters stay whole', () => {
  const c = parser.classify("select 'ünï'; select '🚀'");
  assert.deepEqual(
    c.statements.map((s) => s.text),
    ["select 'ünï'", "select '🚀'"],
  );
});

test('empty and unparseable input', () => {
  assert.equal(parser.classify('  ').statementKind, 'EMPTY');
  assert.equal(parser.classify('-- only a comment').statementKind, 'EMPTY');
  const bad = parser.classify('selec 1');
  assert.equal(bad.ok, false);
  assert.equal(bad.statementKind, 'UNPARSEABLE');
});

test('statement texts are trimmed as PostgreSQL lexes: a trailing U+00A0 is part of the name', async () => {
  const parser = await loadSqlParser();
  const c = parser.classify('truncate t\u00a0;\n select 1 ;');
  assert.ok(c.ok);
  assert.deepEqual(
    c.statements.map((s) => s.text),
    ['truncate t\u00a0', 'select 1'],
  );
  const bare = parser.classify('select 1 as a\u00a0');
  assert.ok(bare.ok);
  assert.equal(bare.statements[0]?.text, 'select 1 as a\u00a0');
});

test('the statements a statement runs inside it are part of its kinds: PREPARE, DECLARE, EXPLAIN, a data-modifying WITH', () => {
  const kindsOf = (sql: string): string[] => parser.classify(sql).statementKinds;
  assert.deepEqual(kindsOf('prepare p as delete from t'), ['PrepareStmt', 'DeleteStmt']);
  assert.deepEqual(kindsOf('declare c cursor for select * from t'), ['DeclareCursorStmt', 'SelectStmt']);
  assert.deepEqual(kindsOf('explain analyze update t set x = 1'), ['ExplainStmt', 'UpdateStmt']);
  assert.deepEqual(kindsOf('with gone as (delete from t returning *) select * from gone'), ['SelectStmt', 'DeleteStmt']);
  const c = parser.classify('select 1; prepare q as insert into t values (1)');
  assert.deepEqual(c.statementKinds, ['SelectStmt', 'PrepareStmt', 'InsertStmt']);
  assert.equal(c.statementKind, 'MULTI');
  // VALUES is a SelectStmt node inside the INSERT.
  assert.deepEqual(
    c.statements.map((s) => s.runs),
    [[], ['InsertStmt', 'SelectStmt']],
  );
});

test('with a cache, a repeated statement is answered from it: same frozen result, facts included, no second walk', async () => {
  const cached = await loadSqlParser({ maxCacheEntries: 2, maxCacheableSqlBytes: 64 });
  const sql = 'delete from secrets.api_keys';
  const first = cached.classify(sql);
  assert.ok(first.ok);
  assert.equal(cached.classify(sql), first);
  assert.ok(Object.isFrozen(first.statements[0]!.facts.flags));
  assert.equal(first.statements[0]!.facts.flags.deleteWithoutWhere, true);
  // Past the size bound, or when evicted, the statement is parsed again.
  const long = `select ${'1,'.repeat(40)}1`;
  assert.notEqual(cached.classify(long), cached.classify(long));
  cached.classify('select 1');
  cached.classify('select 2');
  assert.notEqual(cached.classify(sql), first);
  // Without the option nothing is cached, and results stay unfrozen as before.
  assert.notEqual(parser.classify(sql), parser.classify(sql));
  assert.equal(Object.isFrozen(parser.classify(sql)), false);
});
