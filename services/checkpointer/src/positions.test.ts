import assert from 'node:assert/strict';
import { test } from 'node:test';
import { positions } from './positions.js';

const ends = [
  { topic: 't', partition: 0, low: '0', high: '5' },
  { topic: 't', partition: 1, low: '0', high: '0' },
  { topic: 'u', partition: 0, low: '7', high: '7' },
  { topic: 'u', partition: 1, low: '2', high: '4' },
];

test('caught up only when every non-empty partition is read to its end offset', () => {
  const p = positions();
  assert.deepEqual(p.behind(ends), ['t/0', 'u/1']);
  p.advance('t', 0, '4');
  assert.deepEqual(p.behind(ends), ['t/0', 'u/1']);
  p.advance('t', 0, '5');
  p.advance('u', 1, '4');
  assert.deepEqual(p.behind(ends), []);
});

test('a re-read from the beginning (a rebuilt consumer) does not move a position back', () => {
  const p = positions();
  p.advance('t', 0, '5');
  p.advance('t', 0, '1');
  assert.deepEqual(p.behind([ends[0]!]), []);
});
