import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import {
  checkpointSignedText,
  keyIdOf,
  publicKeyBase64,
  signCheckpoint,
  verifyCheckpointSignature,
  type CheckpointBody,
} from './checkpoint.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyId = keyIdOf(publicKey);
const trusted = [{ keyId, publicKey: publicKeyBase64(publicKey) }];
const body: CheckpointBody = {
  checkpointerId: 'cp-1',
  keyId,
  seq: 3,
  previousCheckpointHash: 'a'.repeat(64),
  coveredFromUs: 1_000,
  coveredUntilUs: 2_000,
  heads: [
    { sessionId: 'b', seq: 4, hash: 'h4', events: 5 },
    { sessionId: 'a', seq: 1, hash: 'h1', events: 2 },
  ],
};

test('a signed checkpoint verifies against its trusted key, and heads are signed in session order', () => {
  const signed = signCheckpoint(body, privateKey);
  assert.deepEqual(verifyCheckpointSignature(signed, 3, trusted), { ok: true });
  assert.equal(signed.signedText, checkpointSignedText({ ...body, heads: [...body.heads].reverse() }));
  assert.equal(keyId.length, 32);
});

test('an untrusted key, a changed head, another seq or a forged signature are refused', () => {
  const signed = signCheckpoint(body, privateKey);
  assert.deepEqual(verifyCheckpointSignature(signed, 3, []), { ok: false, reason: 'untrusted-key' });
  const changedHead = { ...signed, heads: [{ sessionId: 'a', seq: 0, hash: 'h0', events: 1 }, signed.heads[0]!] };
  assert.deepEqual(verifyCheckpointSignature(changedHead, 3, trusted), { ok: false, reason: 'text-mismatch' });
  assert.deepEqual(verifyCheckpointSignature(signed, 4, trusted), { ok: false, reason: 'text-mismatch' });
  const other = generateKeyPairSync('ed25519').privateKey;
  const forged = signCheckpoint(body, other);
  assert.deepEqual(verifyCheckpointSignature({ ...forged, keyId, publicKey: trusted[0]!.publicKey }, 3, trusted), {
    ok: false,
    reason: 'bad-signature',
  });
});
