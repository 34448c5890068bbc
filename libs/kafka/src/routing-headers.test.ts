import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPLY_TO_HEADER, REQUEST_ID_HEADER, routeVerdict } from './routing-headers.js';

const waiting = (id: string): boolean => id === 'r1';

test('a verdict for another instance, or for a request nobody here waits for, is not decoded', () => {
  assert.equal(
    routeVerdict({ [REPLY_TO_HEADER]: Buffer.from('b'), [REQUEST_ID_HEADER]: Buffer.from('r1') }, 'a', waiting),
    'other-instance',
  );
  assert.equal(routeVerdict({ [REPLY_TO_HEADER]: Buffer.from('a'), [REQUEST_ID_HEADER]: Buffer.from('r2') }, 'a', waiting), 'not-waiting');
  assert.equal(routeVerdict({ [REPLY_TO_HEADER]: Buffer.from('a'), [REQUEST_ID_HEADER]: Buffer.from('r1') }, 'a', waiting), 'decode');
});

test('without headers (a producer that sets none) a verdict is decoded and checked as before', () => {
  assert.equal(routeVerdict(undefined, 'a', waiting), 'decode');
  assert.equal(routeVerdict({}, 'a', waiting), 'decode');
  assert.equal(routeVerdict({ [REPLY_TO_HEADER]: 'a' }, 'a', waiting), 'decode');
  // A repeated header is no answer: decode and let checkVerdict judge.
  assert.equal(routeVerdict({ [REPLY_TO_HEADER]: [Buffer.from('b'), Buffer.from('a')] }, 'a', waiting), 'decode');
});
