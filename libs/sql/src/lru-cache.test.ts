import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from './lru-cache.js';

test('the least recently used entry goes first when the count is exceeded', () => {
  const cache = new LruCache<number>({ maxEntries: 2, maxWeight: 100 });
  cache.set('a', 1, 1);
  cache.set('b', 2, 1);
  assert.equal(cache.get('a'), 1); // a is now the most recent
  cache.set('c', 3, 1);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('c'), 3);
  assert.equal(cache.size, 2);
});

test('the weight bound evicts as many entries as needed, and an entry heavier than the bound is not kept', () => {
  const cache = new LruCache<string>({ maxEntries: 10, maxWeight: 10 });
  cache.set('a', 'a', 4);
  cache.set('b', 'b', 4);
  cache.set('c', 'c', 6);
  assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], [undefined, 'b', 'c']);
  assert.equal(cache.totalWeight, 10);
  cache.set('d', 'd', 9);
  assert.deepEqual([cache.get('b'), cache.get('c'), cache.get('d')], [undefined, undefined, 'd']);
  cache.set('huge', 'huge', 11);
  assert.equal(cache.get('huge'), undefined);
  assert.equal(cache.get('d'), 'd');
});

test('replacing a key does not count its weight twice; a zero-entry cache keeps nothing', () => {
  const cache = new LruCache<number>({ maxEntries: 5, maxWeight: 10 });
  cache.set('a', 1, 6);
  cache.set('a', 2, 6);
  assert.equal(cache.totalWeight, 6);
  assert.equal(cache.get('a'), 2);
  const off = new LruCache<number>({ maxEntries: 0, maxWeight: 10 });
  off.set('a', 1, 1);
  assert.equal(off.size, 0);
});
