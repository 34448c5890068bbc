// parseCertificate refuses every malformed blob with AG_ERR_SSH_CERT_MALFORMED (other key types
// with AG_ERR_SSH_KEY_UNSUPPORTED); the encoder refuses what it cannot encode; public key lines
// are read strictly.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { isGatewayError, type ErrorCode } from '@agentgate/errors';
import {
  certificateBlobOfLine,
  encodeUserCertificate,
  parseCertificate,
  ED25519_CERT,
  type UserCertificateRequest,
} from './certificate.js';
import { ed25519Blob, fingerprint, openSshPublicKey, parsePublicKeyLine } from './public-key.js';
import { WireWriter } from './wire.js';

const { privateKey: ca } = generateKeyPairSync('ed25519');
const { publicKey: user } = generateKeyPairSync('ed25519');
const USER_LINE = openSshPublicKey(user, 'agent');

function throwsCode(fn: () => unknown, code: ErrorCode, label = ''): void {
  assert.throws(
    fn,
    (e) => isGatewayError(e, code) || assert.fail(`${label}: expected ${code}, got ${String((e as { code?: string }).code ?? e)}`),
  );
}

interface Fields {
  keyType: string;
  key: Buffer;
  type: number;
  keyId: Buffer | string;
  principals: Buffer;
  critical: Buffer;
  extensions: Buffer;
  signature: Buffer;
}

const options = (...pairs: [string, Buffer | string][]): Buffer => {
  const w = new WireWriter();
  for (const [name, data] of pairs) w.string(name).string(data);
  return w.bytes();
};

/** A certificate blob built field by field (unsigned: parse does not check signatures). */
function raw(overrides: Partial<Fields> = {}): Buffer {
  const f: Fields = {
    keyType: ED25519_CERT,
    key: Buffer.alloc(32, 7),
    type: 1,
    keyId: 'id',
    principals: new WireWriter().string('web').bytes(),
    critical: Buffer.alloc(0),
    extensions: options(['permit-pty', Buffer.alloc(0)]),
    signature: new WireWriter().string('ssh-ed25519').string(Buffer.alloc(64)).bytes(),
    ...overrides,
  };
  return new WireWriter()
    .string(f.keyType)
    .string(Buffer.alloc(32, 1))
    .string(f.key)
    .uint64(5n)
    .uint32(f.type)
    .string(f.keyId)
    .string(f.principals)
    .uint64(1n)
    .uint64(2n)
    .string(f.critical)
    .string(f.extensions)
    .string(Buffer.alloc(0))
    .string(ed25519Blob(Buffer.alloc(32, 9)))
    .string(f.signature)
    .bytes();
}

test('the hand-built blob parses, so each refusal below is for its one change', () => {
  const cert = parseCertificate(raw());
  assert.equal(cert.keyId, 'id');
  assert.deepEqual(cert.principals, ['web']);
  assert.deepEqual(cert.extensions, { 'permit-pty': '' });
});

test('every truncation and any trailing byte is malformed', () => {
  const blob = raw();
  for (let n = 0; n < blob.length; n++) throwsCode(() => parseCertificate(blob.subarray(0, n)), 'AG_ERR_SSH_CERT_MALFORMED', `prefix ${n}`);
  throwsCode(() => parseCertificate(Buffer.concat([blob, Buffer.from([0])])), 'AG_ERR_SSH_CERT_MALFORMED');
});

test('a length that overruns its container is malformed', () => {
  const principals = Buffer.from(new WireWriter().string('web').bytes());
  principals.writeUInt32BE(4, 0);
  throwsCode(() => parseCertificate(raw({ principals })), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => parseCertificate(raw({ key: Buffer.alloc(31) })), 'AG_ERR_SSH_CERT_MALFORMED');
  // An option whose data is not exactly one string.
  throwsCode(() => parseCertificate(raw({ extensions: options(['x@y', Buffer.from([0, 0, 0, 1, 65, 66])]) })), 'AG_ERR_SSH_CERT_MALFORMED');
});

test('an unknown certificate type is malformed; 2 is a host certificate', () => {
  throwsCode(() => parseCertificate(raw({ type: 3 })), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => parseCertificate(raw({ type: 0 })), 'AG_ERR_SSH_CERT_MALFORMED');
  assert.equal(parseCertificate(raw({ type: 2 })).type, 'host');
});

test('duplicate or unsorted extensions and critical options are malformed', () => {
  const flag = Buffer.alloc(0);
  throwsCode(() => parseCertificate(raw({ extensions: options(['permit-pty', flag], ['permit-pty', flag]) })), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(
    () => parseCertificate(raw({ extensions: options(['permit-pty', flag], ['permit-port-forwarding', flag]) })),
    'AG_ERR_SSH_CERT_MALFORMED',
  );
  const value = new WireWriter().string('x').bytes();
  throwsCode(
    () => parseCertificate(raw({ critical: options(['source-address', value], ['force-command', value]) })),
    'AG_ERR_SSH_CERT_MALFORMED',
  );
  // Sorted by bytes (strcmp), so upper case comes first.
  assert.deepEqual(Object.keys(parseCertificate(raw({ extensions: options(['Z', flag], ['a', flag]) })).extensions), ['Z', 'a']);
});

test('text that is not UTF-8 or holds a NUL is malformed; other certificate key types are unsupported', () => {
  throwsCode(() => parseCertificate(raw({ keyId: Buffer.from([0xc3, 0x28]) })), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => parseCertificate(raw({ principals: new WireWriter().string('we\u0000b').bytes() })), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => parseCertificate(raw({ keyType: 'ssh-rsa-cert-v01@openssh.com' })), 'AG_ERR_SSH_KEY_UNSUPPORTED');
  throwsCode(() => parseCertificate(raw({ keyType: 'ssh-ed25519' })), 'AG_ERR_SSH_KEY_UNSUPPORTED');
  throwsCode(() => parseCertificate(raw({ keyType: '\u0000\u0001' })), 'AG_ERR_SSH_CERT_MALFORMED');
});

test('more than 256 principals is malformed', () => {
  const w = new WireWriter();
  for (let i = 0; i < 257; i++) w.string(`p${i}`);
  throwsCode(() => parseCertificate(raw({ principals: w.bytes() })), 'AG_ERR_SSH_CERT_MALFORMED');
});

test('an option named __proto__ stays a plain entry', () => {
  const cert = parseCertificate(raw({ extensions: options(['__proto__', new WireWriter().string('x').bytes()]) }));
  assert.equal(Object.getPrototypeOf(cert.extensions), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(cert.extensions, '__proto__')?.value, 'x');
});

test('the encoder refuses what it must not sign', () => {
  const base: UserCertificateRequest = {
    ca,
    publicKey: USER_LINE,
    serial: 1n,
    keyId: 'k',
    principals: ['web'],
    validAfterSec: 10,
    validBeforeSec: 20,
    extensions: {},
  };
  encodeUserCertificate(base);
  const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  throwsCode(() => encodeUserCertificate({ ...base, ca: rsa }), 'AG_ERR_SSH_KEY_UNSUPPORTED');
  throwsCode(() => encodeUserCertificate({ ...base, ca: user }), 'AG_ERR_SSH_KEY_UNSUPPORTED');
  throwsCode(
    () => encodeUserCertificate({ ...base, publicKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 x' }),
    'AG_ERR_SSH_KEY_UNSUPPORTED',
  );
  throwsCode(() => encodeUserCertificate({ ...base, principals: [] }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, principals: ['a', 'a'] }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, principals: [''] }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, validBeforeSec: 10 }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, validAfterSec: -1 }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, validBeforeSec: 1.5 }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, keyId: 'a\u0000b' }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, extensions: { 'x@y': 'a\u0000' } }), 'AG_ERR_SSH_CERT_MALFORMED');
  throwsCode(() => encodeUserCertificate({ ...base, serial: 1n << 64n }), 'AG_ERR_SSH_CERT_MALFORMED');
});

test('the line comment is the key id on one line; the key id itself is kept exact', () => {
  const line = encodeUserCertificate({
    ca,
    publicKey: USER_LINE,
    serial: 1n,
    keyId: 'evil\nssh-ed25519 AAAA',
    principals: ['web'],
    validAfterSec: 10,
    validBeforeSec: 20,
    extensions: {},
  });
  assert.equal(line.split('\n').length, 1);
  assert.equal(parseCertificate(certificateBlobOfLine(line)).keyId, 'evil\nssh-ed25519 AAAA');
});

test('public key lines: ssh-ed25519 only, canonical base64, one key blob exactly', () => {
  const parsed = parsePublicKeyLine(`  ${USER_LINE}  \n`);
  assert.equal(parsed.comment, 'agent');
  assert.equal(parsed.key.length, 32);
  assert.match(fingerprint(parsed.blob), /^SHA256:[A-Za-z0-9+/]{43}$/);
  const [, b64 = ''] = USER_LINE.split(' ');
  throwsCode(() => parsePublicKeyLine('ecdsa-sha2-nistp256 AAAAE2VjZHNh'), 'AG_ERR_SSH_KEY_UNSUPPORTED');
  throwsCode(() => parsePublicKeyLine(`sk-ssh-ed25519@openssh.com ${b64}`), 'AG_ERR_SSH_KEY_UNSUPPORTED');
  throwsCode(() => parsePublicKeyLine(`ssh-ed25519 ${b64.slice(0, -1)}`), 'AG_ERR_SSH_KEY_INVALID');
  throwsCode(() => parsePublicKeyLine(`ssh-ed25519 ${b64}!`), 'AG_ERR_SSH_KEY_INVALID');
  throwsCode(() => parsePublicKeyLine(`ssh-ed25519 ${b64} ${'x'.repeat(1024)}`), 'AG_ERR_SSH_KEY_INVALID');
  throwsCode(() => parsePublicKeyLine(`ssh-ed25519 ${b64}\nssh-ed25519 ${b64}`), 'AG_ERR_SSH_KEY_INVALID');
  throwsCode(() => parsePublicKeyLine(''), 'AG_ERR_SSH_KEY_INVALID');
  throwsCode(() => parsePublicKeyLine('hello'), 'AG_ERR_SSH_KEY_INVALID');
  // The blob's own type must be ssh-ed25519, its key 32 bytes, nothing after it.
  const inner = (blob: Buffer) => `ssh-ed25519 ${blob.toString('base64')}`;
  throwsCode(
    () => parsePublicKeyLine(inner(new WireWriter().string('ssh-rsa').string(Buffer.alloc(32)).bytes())),
    'AG_ERR_SSH_KEY_INVALID',
  );
  throwsCode(
    () => parsePublicKeyLine(inner(new WireWriter().string('ssh-ed25519').string(Buffer.alloc(33)).bytes())),
    'AG_ERR_SSH_KEY_INVALID',
  );
  throwsCode(() => parsePublicKeyLine(inner(Buffer.concat([parsed.blob, Buffer.from([0])]))), 'AG_ERR_SSH_KEY_INVALID');
});
