// Interoperability with the real OpenSSH: certificates encoded here are listed (and so signature-
// checked) by `ssh-keygen -L`, and certificates signed by `ssh-keygen -s` parse and verify here.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { certificateBlobOfLine, encodeUserCertificate, parseCertificate, ED25519_CERT } from './certificate.js';
import { fingerprint, openSshPublicKey, parsePublicKeyLine, publicKeyBlob } from './public-key.js';
import { keygen, parseListing, type Keygen } from './testing/ssh-keygen.js';
import { verifyCertificate } from './verify.js';

let kg: Keygen;
before(() => {
  kg = keygen();
});
after(() => kg.cleanup());

const ACTOR = JSON.stringify({ actor: { subject: 'alice', groups: ['dev'] }, exp: 1_700_003_600 });

test('a certificate encoded here is accepted by ssh-keygen -L, field by field', () => {
  const { privateKey: ca } = generateKeyPairSync('ed25519');
  const user = kg.newKey('alice');
  const line = encodeUserCertificate({
    ca,
    publicKey: user,
    serial: 42n,
    keyId: 'alice@idp.example',
    principals: ['web', 'db'],
    validAfterSec: 1_700_000_000,
    validBeforeSec: 1_700_003_600,
    extensions: { 'permit-pty': '', 'permit-port-forwarding': '', 'agentgate-actor@agentgate.dev': ACTOR },
    criticalOptions: { 'force-command': 'uptime' },
  });
  assert.match(line, /^ssh-ed25519-cert-v01@openssh\.com [A-Za-z0-9+/=]+ alice@idp\.example$/);
  kg.write('alice-cert.pub', `${line}\n`);
  const listed = parseListing(kg.run(['-L', '-f', 'alice-cert.pub']));
  assert.equal(listed.type, 'ssh-ed25519-cert-v01@openssh.com user certificate');
  assert.equal(listed.signingCa, `ED25519 ${fingerprint(publicKeyBlob(ca))} (using ssh-ed25519)`);
  assert.equal(listed.keyId, '"alice@idp.example"');
  assert.equal(listed.serial, '42');
  assert.equal(listed.valid, 'from 2023-11-14T22:13:20 to 2023-11-14T23:13:20');
  assert.deepEqual(listed.principals, ['web', 'db']);
  assert.deepEqual(listed.criticalOptions, ['force-command uptime']);
  // Sorted by name as OpenSSH requires; an unknown extension is listed as the hex of its data,
  // which is a string (length prefix) holding the value.
  const [actor, ...flags] = listed.extensions;
  assert.deepEqual(flags, ['permit-port-forwarding', 'permit-pty']);
  const m = /^agentgate-actor@agentgate\.dev UNKNOWN OPTION: ([0-9a-f]+) \(len (\d+)\)$/.exec(actor ?? '');
  assert.ok(m?.[1] !== undefined, actor);
  const data = Buffer.from(m[1], 'hex');
  assert.equal(Number(m[2]), data.length);
  assert.equal(data.readUInt32BE(0), data.length - 4);
  assert.equal(data.subarray(4).toString('utf8'), ACTOR);

  // And it parses back to what went in.
  const cert = parseCertificate(certificateBlobOfLine(line));
  assert.deepEqual(cert.publicKeyBlob, parsePublicKeyLine(user).blob);
  assert.equal(cert.serial, 42n);
  assert.deepEqual(cert.extensions, { 'agentgate-actor@agentgate.dev': ACTOR, 'permit-port-forwarding': '', 'permit-pty': '' });
  assert.deepEqual(cert.criticalOptions, { 'force-command': 'uptime' });
});

test('ssh-keygen -L refuses our certificate once a byte of it is changed (the listing checks the signature)', () => {
  const { privateKey: ca } = generateKeyPairSync('ed25519');
  const line = encodeUserCertificate({
    ca,
    publicKey: kg.newKey('bob'),
    serial: 1n,
    keyId: 'bob',
    principals: ['web'],
    validAfterSec: 1_700_000_000,
    validBeforeSec: 1_700_003_600,
    extensions: {},
  });
  const blob = certificateBlobOfLine(line);
  const at = blob.indexOf(Buffer.from('bob'));
  blob[at] = 'c'.charCodeAt(0);
  kg.write('bob-cert.pub', `${ED25519_CERT} ${blob.toString('base64')}\n`);
  assert.throws(() => kg.run(['-L', '-f', 'bob-cert.pub']));
});

test('a certificate signed by ssh-keygen -s parses and verifies here', () => {
  const caLine = kg.newKey('ca');
  kg.newKey('carol');
  kg.run(['-q', '-s', 'ca', '-I', 'carol-id', '-n', 'p1,p2', '-z', '7', '-V', '+5m', 'carol.pub']);
  const blob = certificateBlobOfLine(kg.read('carol-cert.pub'));
  const nowSec = Math.floor(Date.now() / 1000);
  const cert = verifyCertificate(blob, { trustedCaKeys: [parsePublicKeyLine(caLine).blob], nowSec, user: 'p2' });
  assert.equal(cert.type, 'user');
  assert.equal(cert.keyId, 'carol-id');
  assert.equal(cert.serial, 7n);
  assert.deepEqual(cert.principals, ['p1', 'p2']);
  assert.deepEqual(cert.publicKeyBlob, parsePublicKeyLine(kg.read('carol.pub')).blob);
  // -V +5m: backdated to the start of the minute before, valid five minutes from now.
  assert.ok(cert.validAfterSec <= nowSec && cert.validAfterSec > nowSec - 120, String(cert.validAfterSec));
  assert.ok(Math.abs(cert.validBeforeSec - (nowSec + 300)) <= 5, String(cert.validBeforeSec));
  // ssh-keygen's default extensions, sorted, as flags.
  assert.deepEqual(cert.extensions, {
    'permit-X11-forwarding': '',
    'permit-agent-forwarding': '',
    'permit-port-forwarding': '',
    'permit-pty': '',
    'permit-user-rc': '',
  });
  assert.deepEqual(cert.criticalOptions, {});
});

test('ssh-keygen option values parse as the value itself; "forever" is Infinity', () => {
  kg.newKey('ca2');
  kg.newKey('dave');
  kg.run([
    '-q',
    '-s',
    'ca2',
    '-I',
    'dave',
    '-n',
    'x',
    '-O',
    'clear',
    '-O',
    'extension:z@example.com=v1',
    '-O',
    'source-address=10.0.0.0/8',
    'dave.pub',
  ]);
  const cert = parseCertificate(certificateBlobOfLine(kg.read('dave-cert.pub')));
  assert.deepEqual(cert.extensions, { 'z@example.com': 'v1' });
  assert.deepEqual(cert.criticalOptions, { 'source-address': '10.0.0.0/8' });
  assert.equal(cert.validAfterSec, 0);
  assert.equal(cert.validBeforeSec, Number.POSITIVE_INFINITY);
});

test('the CA helpers print what ssh-keygen prints for the same key', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const line = openSshPublicKey(privateKey, 'agentgate ssh CA');
  assert.equal(line, openSshPublicKey(publicKey, 'agentgate ssh CA'));
  kg.write('ca-helper.pub', `${line}\n`);
  const listed = kg.run(['-l', '-E', 'sha256', '-f', 'ca-helper.pub']).trim();
  assert.equal(listed, `256 ${fingerprint(publicKeyBlob(privateKey))} agentgate ssh CA (ED25519)`);
});
