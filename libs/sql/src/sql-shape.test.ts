// The shape lexer: texts that differ only in literals and comments share a key; anything else
// gets another key; what the lexer cannot be sure to read as the server does gets no shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyOffset, sqlShape, textOffset } from './sql-shape.js';

const key = (sql: string): string | null => sqlShape(sql)?.key ?? null;

const SAME: [string, string][] = [
  ['select * from t where id = 1', 'select * from t where id = 22'],
  ["select * from t where name = 'bob'", "select * from t where name = 'it''s /* not a comment */ -- nor this'"],
  ["select E'a\\'b'", "select E'\\\\'"],
  ["select N'x'", "select n'yy'"],
  ['select $$a$$', 'select $q$ it has $$ inside $q$'],
  ['select 1.5, 1e10, .5, 1e-3, 0x1F, 1_000_000', 'select 2.5, 3e10, .7, 2E+3, 0o17, 12345678901'],
  ['select 1 -- one', "select 2 -- two, with a quote '"],
  ['select /* a /* nested */ comment */ 1', 'select /* other */ 3'],
  ['select 1 -- x', 'select 1 /* x */'],
  ['select $1, $2 from t where a = 1', 'select $1, $2 from t where a = 9'],
  ['select "a""b" from t where x = 1', 'select "a""b" from t where x = 5'],
  ["select date '2020-01-01'", "select date '1999-12-31'"],
  ["select 'a';\nselect 'b'", "select 'ccc';\nselect 'dddd'"],
];

const DIFFERENT: [string, string][] = [
  ['select * from t where id = 1', "select * from t where id = '1'"],
  ['select * from t where id = 1', 'select * from t where id = 1.5'],
  ['select * from t where id = 1', 'select * from t where id = 1234567890'],
  ["select 'a'", "select E'a'"],
  ["select 'a'", "select N'a'"],
  ["select 'a'", 'select $$a$$'],
  ['select a1 from t', 'select a2 from t'],
  ['select "x" from t', 'select "y" from t'],
  ["select 'a'; drop table t", "select 'a'; drop table u"],
  ['select $1', 'select $2'],
  ['select 1', 'select  1'],
];

const NO_SHAPE: [string, string][] = [
  ["select B'0101'", 'bit string'],
  ["select X'ff'", 'hex string'],
  ["select U&'d\\0061t'", 'Unicode escapes'],
  ['select U&"x"', 'Unicode identifier'],
  ["select 'open", 'unterminated string'],
  ['select "open', 'unterminated identifier'],
  ['select /* open', 'unterminated comment'],
  ['select /* a /* b */', 'unterminated nested comment'],
  ['select $$ open', 'unterminated dollar quote'],
  ['select $a', 'a dollar that starts nothing'],
  ['select 1abc', 'trailing junk after a number'],
  ['select 1..10', 'two dots'],
  ['select $1abc', 'trailing junk after a parameter'],
  ['select 1\u0000', 'NUL'],
  // The server joins strings separated by whitespace with a newline and reads the rest in the
  // first part's mode: here the second part ends at the last quote, not at \'.
  ["select E'x'\n'\\' ; drop table t; --'", 'E string continued on the next line'],
  ["select 'a' -- comment\n 'b'", 'string continued after a -- comment'],
  ["select 'a'\r'b'", 'string continued after a carriage return'],
];

test('texts that differ only in literal values and comments share a shape', () => {
  for (const [a, b] of SAME) {
    assert.notEqual(key(a), null, a);
    assert.equal(key(a), key(b), `${a} | ${b}`);
  }
});

test('texts that differ in anything else have different shapes', () => {
  for (const [a, b] of DIFFERENT) {
    assert.notEqual(key(a), null, a);
    assert.notEqual(key(b), null, b);
    assert.notEqual(key(a), key(b), `${a} | ${b}`);
  }
});

test('what this lexer cannot be sure to read as the server does has no shape', () => {
  for (const [sql, why] of NO_SHAPE) assert.equal(sqlShape(sql), null, why);
});

test('strings on one line, or not followed by a string, are not continuations', () => {
  assert.notEqual(sqlShape("select 'a' 'b'"), null);
  assert.notEqual(sqlShape("select 'a'\n, 'b'"), null);
  assert.notEqual(sqlShape("select 'a'\n"), null);
});

test('a statement after a literal stays in the key as code', () => {
  const k = key("select 'x'; drop table t");
  assert.ok(k?.endsWith('; drop table t'), k ?? 'null');
  assert.equal(sqlShape("select 'x'; drop table t")?.spans.length, 1);
});

test('offsets outside literals map into the key and back into any text of the shape', () => {
  const a = "select 'a' from t where x = 1; select 'bbbb' -- c\n";
  const b = "select 'zzzzzz' from t where x = 123; select '' -- cc\n";
  const sa = sqlShape(a)!;
  const sb = sqlShape(b)!;
  assert.equal(sa.key, sb.key);
  const edges = (sql: string): number[] => [0, sql.indexOf(';'), sql.indexOf(';') + 2, sql.indexOf(' --')];
  for (const [i, at] of edges(a).entries()) {
    const k = keyOffset(sa, at);
    assert.notEqual(k, undefined);
    assert.equal(textOffset(sb, k!), edges(b)[i]);
    assert.equal(textOffset(sa, k!), at);
  }
  assert.equal(keyOffset(sa, a.indexOf("'a'") + 1), undefined, 'inside a literal');
  assert.equal(keyOffset(sa, a.length), sa.key.length);
  assert.equal(textOffset(sb, sb.key.length), b.length);
});
