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
  assert.deepEqual(c.statements.map((s) => s.text), ['select 1', '/* ; */ drop table x', "insert into t values (';')"]);
});

test('a DROP hidden in a comment or a string is not a DROP', () => {
  assert.deepEqual(parser.classify("select 'drop table x' -- drop table y").statementKinds, ['SelectStmt']);
});

test('statement texts are cut at byte offsets, so multi-byte characters stay whole', () => {
  const c = parser.classify("select 'ünï'; select '🚀'");
  assert.deepEqual(c.statements.map((s) => s.text), ["select 'ünï'", "select '🚀'"]);
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
  assert.deepEqual(c.statements.map((s) => s.text), ['truncate t\u00a0', 'select 1']);
  const bare = parser.classify('select 1 as a\u00a0');
  assert.ok(bare.ok);
  assert.equal(bare.statements[0]?.text, 'select 1 as a\u00a0');
});
