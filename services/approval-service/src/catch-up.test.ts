import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catchUp } from './catch-up.js';

test('caught up once every partition that held something is read to its high watermark at start', () => {
  const c = catchUp([
    { topic: 'a', partition: 0, low: '0', high: '3' },
    { topic: 'a', partition: 1, low: '5', high: '5' },
    { topic: 'b', partition: 0, low: '0', high: '1' },
  ]);
  assert.equal(c.done, false);
  assert.equal(c.remaining, 2);
  assert.equal(c.advance('a', 0, '2'), false);
  assert.equal(c.advance('b', 0, '1'), false);
  assert.equal(c.advance('a', 0, '3'), true);
  assert.equal(c.done, true);
});

test('an empty log is caught up at once', () => {
  assert.equal(catchUp([{ topic: 'a', partition: 0, low: '0', high: '0' }]).done, true);
});
