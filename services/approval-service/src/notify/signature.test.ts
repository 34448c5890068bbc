import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSignature, signatureHeaders, verifySignature } from './signature.js';

const SECRET = 'whsec-test-secret-0123456789';
const BODY = '{"a":1}';
const TS = 1_700_000_000;
// Computed independently: printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec-test-secret-0123456789'
const VECTOR = 'b741c9db186a1a22e0f82fbf0bc55a66d1ca8c25ef6e9f67dfeb0107bdf42aea';

test('the signature is hex HMAC-SHA256 of "<timestamp>.<body>" (known vector)', () => {
  assert.equal(computeSignature(SECRET, TS, BODY), VECTOR);
  assert.deepEqual(signatureHeaders(Buffer.from(SECRET), BODY, TS + 0.9), {
    'X-Agentgate-Timestamp': String(TS),
    'X-Agentgate-Signature': `v1=${VECTOR}`,
  });
});

test('verifySignature accepts the vector, within the tolerance either side', () => {
  assert.equal(verifySignature(SECRET, String(TS), BODY, `v1=${VECTOR}`, TS), true);
  assert.equal(verifySignature(Buffer.from(SECRET), TS, BODY, `v1=${VECTOR}`, TS + 300), true);
  assert.equal(verifySignature(SECRET, TS, BODY, `v1=${VECTOR}`, TS - 300), true);
  // Several signatures (key rotation): any one matching is enough.
  assert.equal(verifySignature(SECRET, TS, BODY, `v1=${'0'.repeat(64)}, v1=${VECTOR}`, TS), true);
});

test('verifySignature rejects a changed body, a wrong secret, an old or future timestamp, a changed timestamp and junk', () => {
  assert.equal(verifySignature(SECRET, TS, '{"a":2}', `v1=${VECTOR}`, TS), false, 'changed body');
  assert.equal(verifySignature('another-secret-0123456789', TS, BODY, `v1=${VECTOR}`, TS), false, 'wrong secret');
  assert.equal(verifySignature(SECRET, TS, BODY, `v1=${VECTOR}`, TS + 301), false, 'old timestamp');
  assert.equal(verifySignature(SECRET, TS, BODY, `v1=${VECTOR}`, TS - 301), false, 'future timestamp');
  // The timestamp is signed: moving it forward to pass the tolerance breaks the signature.
  assert.equal(verifySignature(SECRET, TS + 1000, BODY, `v1=${VECTOR}`, TS + 1000), false, 'replayed with a new timestamp');
  assert.equal(verifySignature(SECRET, TS, BODY, `v0=${VECTOR}`, TS), false, 'other version');
  assert.equal(verifySignature(SECRET, TS, BODY, VECTOR, TS), false, 'no version');
  assert.equal(verifySignature(SECRET, TS, BODY, `v1=${VECTOR.slice(2)}`, TS), false, 'short');
  assert.equal(verifySignature(SECRET, 'abc', BODY, `v1=${VECTOR}`, TS), false, 'non-numeric timestamp');
});
