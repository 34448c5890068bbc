import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publicKeyBlob } from './host-key.js';

/** An SSH string: uint32 length, then the bytes. */
const sshString = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.alloc(32, 7))]);

test('a .pub line gives the wire blob the host verifier compares, comment or not', () => {
  assert.deepEqual(publicKeyBlob(`ssh-ed25519 ${blob.toString('base64')} root@host\n`), blob);
  assert.deepEqual(publicKeyBlob(`ssh-ed25519 ${blob.toString('base64')}`), blob);
});

test('a line whose type disagrees with its blob, or that is no key line, is refused', () => {
  assert.throws(() => publicKeyBlob(`ssh-rsa ${blob.toString('base64')}`), /blob holds ssh-ed25519/);
  assert.throws(() => publicKeyBlob('ssh-ed25519'), /not an OpenSSH public key line/);
  assert.throws(() => publicKeyBlob('ssh-ed25519 not*base64'), /not an OpenSSH public key line/);
  assert.throws(() => publicKeyBlob(`ssh-ed25519 ${Buffer.from([0, 0, 0, 99, 1]).toString('base64')}`), /no type/);
});
