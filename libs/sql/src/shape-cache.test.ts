// The shape cache may only answer for a text what a parse of that text would say. For every
// statement of the facts corpus, each text of its shape (literals and comments varied) must get
// from the cache exactly the kinds, texts and facts its own parse gives, or nothing at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pgQuery from 'libpg-query';
import { classified, type LocatedStatement, parseStatements, type SqlClassification } from './classification.js';
import { loadSqlParser } from './classify.js';
import { createSqlParserPool } from './parser-pool.js';
import { ShapeCache } from './shape-cache.js';
import { cases } from './statement-facts-cases.js';
import { type SqlShape, sqlShape } from './sql-shape.js';

await pgQuery.loadModule();

// Values to put in place of each literal, by kind: some that policy cares about on purpose.
const VARIANTS: Record<string, string[]> = {
  s: ["'x'", "''", "'search_path'", "'off'", "'1'", "'select * from secrets.api_keys'", "'delete from public.t'"],
  e: ["E'x'", "E'\\''", "E'search_path'"],
  N: ["N'x'", "N''"],
  d: ['$$x$$', '$$select * from secrets.api_keys$$', '$f$ delete from public.t $f$', '$$$$'],
  i: ['0', '1', '7', '2'],
  n: ['1.5', '0.0', '12345678901', '1e3'],
  c: ['/* x */', '-- y'],
};

function variant(sql: string, shape: SqlShape, pick: number): string {
  let out = '';
  let at = 0;
  const kinds = shape.key
    .split('\u0000')
    .slice(1)
    .map((part) => part[0]!);
  shape.spans.forEach(([start, end], i) => {
    const kind = kinds[i]!;
    const original = sql.slice(start, end);
    let value: string;
    if (kind === 'c') value = original.startsWith('--') ? '-- other' : '/* other */';
    else {
      const values = VARIANTS[kind]!;
      value = values[(pick + i) % values.length]!;
    }
    out += sql.slice(at, start) + value;
    at = end;
  });
  return out + sql.slice(at);
}

function located(sql: string): LocatedStatement[] | undefined {
  try {
    return parseStatements(sql, pgQuery.parseSync);
  } catch {
    return undefined;
  }
}

const view = (c: SqlClassification): unknown =>
  c.ok ? c.statements.map((s) => ({ kind: s.kind, text: s.text, runs: s.runs, facts: s.facts })) : 'unparseable';

const CORPUS = [
  ...cases.map((c) => c.sql),
  'EXPLAIN (ANALYZE 0) DELETE FROM public.t WHERE id = 1',
  "EXPLAIN (ANALYZE 'off') DELETE FROM public.t",
  "SELECT set_config('application_name', 'x', false)",
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
  "CREATE FUNCTION f() RETURNS int LANGUAGE 'sql' AS $$select 1$$",
  "DO $$BEGIN EXECUTE 'DROP TABLE public.victim'; END$$",
  "select * from public.customers where id = 1 /* trace='abc' */; select 'x' -- end",
];

test('every text of a kept shape gets what its own parse says', () => {
  let kept = 0;
  let compared = 0;
  for (const sql of CORPUS) {
    const shape = sqlShape(sql);
    const own = located(sql);
    if (!shape || !own || shape.spans.length === 0) continue;
    const cache = new ShapeCache({ maxEntries: 10 });
    cache.remember(shape, own);
    if (cache.size === 0) continue;
    kept++;
    for (let pick = 0; pick < 7; pick++) {
      const text = variant(sql, shape, pick);
      const other = sqlShape(text);
      assert.equal(other?.key, shape.key, `${text} must have the shape of ${sql}`);
      const parsed = located(text);
      // A value the grammar refuses there (the server refuses it too): no parse to compare with.
      if (!parsed) continue;
      compared++;
      assert.deepEqual(view(cache.get(text, other!)!), view(classified(text, parsed)), `${sql}\n  as  ${text}`);
    }
  }
  console.log(`# shape property: ${kept} shapes kept, ${compared} texts compared`);
  assert.ok(kept >= 60, `only ${kept} corpus statements were kept by shape`);
  assert.ok(compared >= 300, `only ${compared} variants compared`);
});

test('facts that read a literal are never kept by shape', () => {
  for (const sql of [
    'EXPLAIN (ANALYZE 0) DELETE FROM public.t',
    "EXPLAIN (ANALYZE 'off') DELETE FROM public.t",
    "SELECT set_config('application_name', 'x', false)",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
    'CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN END $$',
  ]) {
    const cache = new ShapeCache({ maxEntries: 10 });
    cache.remember(sqlShape(sql)!, located(sql)!);
    assert.equal(cache.size, 0, sql);
  }
});

test('given harmless texts parsed first, a text of the same shape that does harm is still seen for what it is', async () => {
  const parser = await loadSqlParser({ maxShapeEntries: 100 });
  const flagsOf = (sql: string): Record<string, unknown> => {
    const c = parser.classify(sql);
    assert.ok(c.ok, sql);
    return c.statements[0]!.facts.flags as unknown as Record<string, unknown>;
  };
  assert.equal(flagsOf('EXPLAIN (ANALYZE 0) DELETE FROM public.t').explainAnalyze, false);
  assert.equal(flagsOf('EXPLAIN (ANALYZE 1) DELETE FROM public.t').explainAnalyze, true);
  assert.equal(flagsOf("SELECT set_config('application_name', 'a', false)").searchPathChange, false);
  assert.equal(flagsOf("SELECT set_config('search_path', 'secrets', false)").searchPathChange, true);
  const writes = (sql: string): string[] => {
    const c = parser.classify(sql);
    return c.ok ? c.statements.flatMap((s) => s.facts.writes.map((w) => `${w.schema}.${w.name}`)) : ['unparseable'];
  };
  assert.deepEqual(writes("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'"), []);
  assert.deepEqual(writes("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'delete from secrets.api_keys returning 1'"), [
    'secrets.api_keys',
  ]);
  // A string continued on the next line keeps an E string's escapes: one literal, no DROP.
  const one = parser.classify("select E'x'\n'\\' ; drop table t; --'");
  const two = parser.classify("select E'x'\n'ok' ; drop table t; --'");
  assert.deepEqual(one.ok && one.statements.map((s) => s.kind), ['SelectStmt']);
  assert.deepEqual(two.ok && two.statements.map((s) => s.kind), ['SelectStmt', 'DropStmt']);
});

test('a hit from the synchronous parser has its own texts, and its own tree when read', async () => {
  const parser = await loadSqlParser({ maxShapeEntries: 100 });
  parser.classify("select * from t where id = 1; select 'a'");
  const c = parser.classify("select * from t where id = 12345; select 'bcd'");
  assert.ok(c.ok);
  assert.deepEqual(
    c.statements.map((s) => s.text),
    ['select * from t where id = 12345', "select 'bcd'"],
  );
  assert.match(JSON.stringify(c.statements[0]!.tree), /12345/);
});

test('the pool answers a text of a known shape without a parse; its tree is not kept', async () => {
  const pool = await createSqlParserPool({ workers: 1, maxShapeEntries: 100 });
  try {
    await pool.classify('select * from public.customers where id = 1');
    const c = await pool.classify('select * from public.customers where id = 2');
    const stats = pool.stats();
    assert.equal(stats.parses, 1);
    assert.equal(stats.shapeHits, 1);
    assert.ok(c.ok);
    assert.equal(c.statements[0]!.text, 'select * from public.customers where id = 2');
    assert.deepEqual(c.statements[0]!.facts.reads, [{ schema: 'public', name: 'customers' }]);
    assert.throws(() => c.statements[0]!.tree, { code: 'AG_ERR_INTERNAL' });
  } finally {
    await pool.close();
  }
});

test('without maxShapeEntries the pool parses every new text', async () => {
  const pool = await createSqlParserPool({ workers: 1 });
  try {
    await pool.classify('select 1');
    await pool.classify('select 2');
    assert.equal(pool.stats().parses, 2);
    assert.equal(pool.stats().shapeHits, 0);
  } finally {
    await pool.close();
  }
});
