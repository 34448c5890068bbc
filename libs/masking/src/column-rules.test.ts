import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ColumnRule, compileColumnRules, globToRegExp } from './index.js';

test('globs: * and ? are wildcards, everything else is literal', () => {
  assert.ok(globToRegExp('cust*').test('customers'));
  assert.ok(globToRegExp('c?rd').test('card'));
  assert.ok(!globToRegExp('c?rd').test('caard'));
  assert.ok(globToRegExp('a.b').test('a.b'));
  assert.ok(!globToRegExp('a.b').test('axb'), 'a dot is literal');
  assert.ok(globToRegExp('[x]+(y)').test('[x]+(y)'));
});

const rules: ColumnRule[] = [
  { schema: 'public', table: 'customers', column: 'notes', strategy: { kind: 'detect' } },
  { schema: 'public', table: 'customers', strategy: { kind: 'tokenize' } },
  { column: '*email*', strategy: { kind: 'partial', keep: 2 } },
  { connection: 'prod-*', column: 'ssn', strategy: { kind: 'null' } },
  { type: ['bytea', 25], strategy: { kind: 'redact' } },
  { type: 'character varying', table: 'logs', strategy: { kind: 'keep' } },
];
const match = compileColumnRules(rules);

test('the first matching rule wins', () => {
  assert.equal(match({ connection: 'c', schema: 'public', table: 'customers', column: 'notes' })?.ruleIndex, 0);
  assert.equal(match({ connection: 'c', schema: 'public', table: 'customers', column: 'email' })?.ruleIndex, 1);
  assert.equal(match({ connection: 'c', schema: 'sales', table: 'orders', column: 'billing_email' })?.ruleIndex, 2);
  assert.deepEqual(match({ connection: 'c', schema: 'sales', table: 'orders', column: 'email' })?.strategy, { kind: 'partial', keep: 2 });
});

test('names match case-sensitively, as PostgreSQL reports them after folding', () => {
  assert.equal(match({ connection: 'c', schema: 'public', table: 'Customers', column: 'x' }), undefined);
  assert.equal(match({ connection: 'c', schema: 'sales', table: 'orders', column: 'EMAIL' }), undefined);
});

test('connection globs, computed columns and absent fields', () => {
  assert.equal(match({ connection: 'prod-eu', column: 'ssn' })?.ruleIndex, 3);
  assert.equal(match({ connection: 'staging', column: 'ssn' }), undefined);
  assert.equal(match({ connection: 'c', column: 'email' })?.ruleIndex, 2, 'a computed column matches by name');
  assert.equal(
    compileColumnRules([{ table: '*', strategy: { kind: 'redact' } }])({ connection: 'c', column: 'x' }),
    undefined,
    'a table glob needs a table',
  );
});

test('types by name, SQL alias or OID', () => {
  assert.equal(match({ connection: 'c', schema: 's', table: 't', column: 'blob', typeName: 'bytea' })?.ruleIndex, 4);
  assert.equal(match({ connection: 'c', schema: 's', table: 't', column: 'body', typeOid: 25 })?.ruleIndex, 4);
  assert.equal(match({ connection: 'c', schema: 's', table: 'logs', column: 'line', typeName: 'varchar' })?.ruleIndex, 5);
  assert.equal(match({ connection: 'c', schema: 's', table: 'logs', column: 'line', typeName: 'int4' }), undefined);
  assert.equal(match({ connection: 'c', schema: 's', table: 'logs', column: 'line' }), undefined, 'a type rule needs a type');
});
