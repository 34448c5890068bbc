import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statementDigester } from './statement-digest.js';

const ring = (fill: number) => ({ current: { id: `k${fill}`, secret: new Uint8Array(32).fill(fill) } });

test('a statement digest is stable per key, ignores surrounding whitespace and binds text, resolved text and parameters', () => {
  const d = statementDigester(ring(1));
  const base = d('DELETE FROM orders WHERE id = $1', null, ['7']);
  assert.match(base!, /^[0-9a-f]{64}$/);
  assert.equal(d('  DELETE FROM orders WHERE id = $1\n', null, ['7']), base);
  assert.notEqual(d('DELETE FROM orders WHERE id = $1', null, ['8']), base);
  assert.notEqual(d('DELETE FROM orders WHERE id = $1', null, [null]), base);
  assert.notEqual(d('DELETE FROM orders WHERE id =  $1', null, ['7']), base);
  assert.notEqual(d('DELETE FROM orders WHERE id = $1', 'x', ['7']), base);
  assert.notEqual(statementDigester(ring(2))('DELETE FROM orders WHERE id = $1', null, ['7']), base, 'another key, another digest');
});

test('without a key there is no digest', () => {
  assert.equal(statementDigester(undefined)('SELECT 1', null, []), null);
});
