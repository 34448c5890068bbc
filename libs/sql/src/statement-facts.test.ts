// statementFacts on trees from the real parser. Table-driven: each case gives the SQL and every
// fact it expects; a list or flag a case leaves out must be empty or false, so a fact that
// appears where it should not fails the case too. `trap` says what a keyword or top-level-kind
// check gets wrong about the statement.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSqlParser, type StatementFacts, statementFacts } from './index.js';
import { cases, type Flag } from './statement-facts-cases.js';

const parser = await loadSqlParser();

const ALL_FLAGS: Flag[] = [
  'updateWithoutWhere',
  'deleteWithoutWhere',
  'copyProgram',
  'copyFile',
  'dynamicSql',
  'routineDefinition',
  'explainAnalyze',
  'writeInCte',
  'lockingRead',
  'searchPathChange',
  'roleChange',
  'call',
  'truncate',
];

/** schema.name, or name when unqualified. */
function names(refs: readonly { schema: string | null; name: string }[]): string[] {
  return refs.map((r) => (r.schema === null ? r.name : `${r.schema}.${r.name}`));
}

function factsOf(sql: string): StatementFacts {
  const c = parser.classify(sql);
  assert.ok(c.ok, `${sql}: ${c.ok ? '' : c.error}`);
  assert.equal(c.statements.length, 1, sql);
  return c.statements[0]!.facts;
}

test('the table has enough cases, and every flag and class is both set and unset by some case', () => {
  assert.ok(cases.length >= 120, `${cases.length} cases`);
  for (const flag of ALL_FLAGS)
    assert.ok(
      cases.some((c) => c.flags?.includes(flag)),
      flag,
    );
  for (const cls of ['select', 'insert', 'update', 'delete', 'merge', 'ddl', 'dcl', 'copy', 'utility', 'transaction'] as const) {
    assert.ok(
      cases.some((c) => c.classes[0] === cls),
      cls,
    );
  }
});

for (const c of cases) {
  test(`${c.sql}${c.trap ? `  [${c.trap}]` : ''}`, () => {
    const f = factsOf(c.sql);
    const truthy = ALL_FLAGS.filter((flag) => f.flags[flag]);
    assert.deepEqual(
      {
        classes: f.classes,
        reads: names(f.reads),
        writes: names(f.writes),
        locks: names(f.locks),
        functions: names(f.functions),
        schemaChanges: f.schemaChanges,
        flags: truthy.sort(),
        prepares: f.flags.prepares,
        executes: f.flags.executes,
        unknownKinds: f.unknownKinds,
      },
      {
        classes: c.classes,
        reads: c.reads ?? [],
        writes: c.writes ?? [],
        locks: c.locks ?? [],
        functions: c.functions ?? [],
        schemaChanges: c.schemaChanges ?? [],
        flags: [...(c.flags ?? [])].sort(),
        prepares: c.prepares ?? null,
        executes: c.executes ?? null,
        unknownKinds: c.unknownKinds ?? [],
      },
    );
  });
}

test('a multi-statement string is split first: one set of facts per statement', () => {
  const c = parser.classify('select * from public.t; delete from secrets.api_keys; set search_path = secrets');
  assert.ok(c.ok);
  assert.deepEqual(
    c.statements.map((s) => [s.facts.kind, s.facts.classes, names(s.facts.writes), s.facts.flags.searchPathChange]),
    [
      ['SelectStmt', ['select'], [], false],
      ['DeleteStmt', ['delete'], ['secrets.api_keys'], false],
      ['VariableSetStmt', ['utility'], [], true],
    ],
  );
});

test('statementFacts takes the wrapped node, or the body with its kind; the facts are those of the parse', () => {
  const s = parser.classify('with d as (delete from t returning *) select * from d').statements[0]!;
  assert.deepEqual(statementFacts({ [s.kind]: s.tree }), s.facts);
  assert.deepEqual(statementFacts(s.tree, { kind: s.kind }), s.facts);
});

test('a body of unknown kind is unknown, not a guess', () => {
  const s = parser.classify('select 1').statements[0]!;
  const f = statementFacts(s.tree);
  assert.deepEqual([f.classes, f.unknownKinds], [['unknown'], ['Unknown']]);
});

test('a statement kind missing from the class table is unknown, also when nested', () => {
  const top = statementFacts({ FutureStmt: { relation: { relname: 't', relpersistence: 'p' } } });
  assert.deepEqual([top.kind, top.classes, top.unknownKinds, names(top.writes)], ['FutureStmt', ['unknown'], ['FutureStmt'], ['t']]);
  const nested = statementFacts({ ExplainStmt: { query: { FutureStmt: {} } } });
  assert.deepEqual([nested.classes, nested.unknownKinds], [['utility', 'unknown'], ['FutureStmt']]);
  const inSubquery = statementFacts({ SelectStmt: { whereClause: { SubLink: { subselect: { FutureStmt: {} } } } } });
  assert.deepEqual([inSubquery.classes, inSubquery.unknownKinds], [['select', 'unknown'], ['FutureStmt']]);
});

test('without a parse function a LANGUAGE sql string body is dynamic SQL (it cannot be read)', () => {
  const s = parser.classify('create function f() returns void language sql as $$ delete from t $$').statements[0]!;
  const f = statementFacts({ [s.kind]: s.tree });
  assert.deepEqual([f.classes, f.writes, f.flags.dynamicSql, f.flags.routineDefinition], [['ddl'], [], true, true]);
  assert.equal(s.facts.flags.dynamicSql, false);
});

test('a tree deeper than the stack is walked', () => {
  // 100,000 nested subqueries: far deeper than the parser accepts, built by hand.
  let node: Record<string, unknown> = {
    SelectStmt: { fromClause: [{ RangeVar: { schemaname: 'secrets', relname: 'api_keys', relpersistence: 'p' } }] },
  };
  for (let i = 0; i < 100_000; i++) node = { SelectStmt: { whereClause: { SubLink: { subselect: node } } } };
  const f = statementFacts(node);
  assert.deepEqual(names(f.reads), ['secrets.api_keys']);
});

test('the class table names every statement node of the PostgreSQL 17 grammar but the PL/pgSQL-only one', async () => {
  const { STATEMENT_KIND_CLASSES } = await import('./index.js');
  const { readFile } = await import('node:fs/promises');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const types = await readFile(require.resolve('@pgsql/types/types.d.ts', { paths: [require.resolve('libpg-query')] }), 'utf8');
  // `export type Node = { ParseResult: ParseResult } | { ... } | ...;` up to the next export.
  const node = types.slice(types.indexOf('export type Node ='));
  const union = node.slice(0, node.indexOf('\nexport ', 1));
  const kinds = [...union.matchAll(/^\s+(\w+Stmt): \w+;$/gm)].map((m) => m[1]!);
  assert.ok(kinds.length > 100, `${kinds.length} statement nodes found`);
  const missing = kinds.filter((k) => STATEMENT_KIND_CLASSES[k] === undefined);
  // RawStmt wraps every statement of a parse result; SetOperationStmt exists only after analysis;
  // PLAssignStmt only in PL/pgSQL's grammar.
  assert.deepEqual(missing, ['RawStmt', 'SetOperationStmt', 'PLAssignStmt']);
});

test('a body with a syntax error is dynamic SQL; a parser failure while reading a body is passed on, not hidden', () => {
  const s = parser.classify("create function f() returns int language sql as 'select 1'").statements[0]!;
  const tree = { [s.kind]: s.tree };
  const syntax = Object.assign(new Error('syntax error at or near "x"'), { name: 'SqlError' });
  const oom = Object.assign(new Error('out of memory'), { name: 'SqlError' });
  const failing = (err: Error) => () => {
    throw err;
  };
  assert.equal(statementFacts(tree, { parse: failing(syntax) }).flags.dynamicSql, true);
  assert.throws(() => statementFacts(tree, { parse: failing(oom) }), /out of memory/);
  assert.throws(() => statementFacts(tree, { parse: failing(new RangeError('memory access out of bounds')) }), RangeError);
});
