// verifyCertificate refuses each way a certificate may not log in, each with its code; the
// boundaries of the validity window are exact (valid after <= now < valid before).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isGatewayError, type ErrorCode } from '@agentgate/errors';
import { certificateBlobOfLine, encodeUserCertificate, type UserCertificateRequest } from './certificate.js';
import { parsePublicKeyLine, publicKeyBlob } from './public-key.js';
import { keygen, type Keygen } from './testing/ssh-keygen.js';
import { verifyCertificate, type VerifyOptions } from './verify.js';

let kg: Keygen;
let userKey: string;
before(() => {
  kg = keygen();
  userKey = kg.newKey('agent');
});
after(() => kg.cleanup());

const { privateKey: ca } = generateKeyPairSync('ed25519');
const { privateKey: otherCa } = generateKeyPairSync('ed25519');
const AFTER = 1_700_000_000;
const BEFORE = 1_700_003_600;

function issue(overrides: Partial<UserCertificateRequest> = {}): Buffer {
  return certificateBlobOfLine(
    encodeUserCertificate({
      ca,
      publicKey: userKey,
      serial: 9n,
      keyId: 'agent-1',
      principals: ['web', 'db'],
      validAfterSec: AFTER,
      validBeforeSec: BEFORE,
      extensions: { 'permit-pty': '' },
      ...overrides,
    }),
  );
}

const trust: VerifyOptions = { trustedCaKeys: [publicKeyBlob(ca)], nowSec: AFTER + 10 };

function refused(blob: Buffer, options: VerifyOptions, code: ErrorCode): void {
  assert.throws(
    () => verifyCertificate(blob, options),
    (e) => isGatewayError(e, code) || assert.fail(`expected ${code}, got ${String((e as { code?: string }).code ?? e)}`),
  );
}

test('a certificate of a trusted CA, in its window, for a listed principal, is accepted', () => {
  const cert = verifyCertificate(issue(), { ...trust, user: 'db' });
  assert.equal(cert.keyId, 'agent-1');
  // Without a user, any principal list is fine (the caller decides).
  assert.equal(verifyCertificate(issue(), trust).serial, 9n);
});

test('a changed byte is a signature failure, whatever the field', () => {
  const good = issue();
  // Bytes of the key id, a principal, the validity (just before the extensions), the signature's
  // algorithm name and the signature itself.
  const keyIdAt = good.indexOf(Buffer.from('agent-1'));
  const validBeforeAt = good.indexOf(Buffer.from('permit-pty')) - 4 - 4 - 4 - 1;
  for (const at of [keyIdAt, keyIdAt + 6, good.indexOf(Buffer.from('web')), validBeforeAt, good.length - 70, good.length - 1]) {
    const tampered = Buffer.from(good);
    tampered[at] = (tampered[at] ?? 0) ^ 0x01;
    refused(tampered, trust, 'AG_ERR_SSH_CERT_SIGNATURE_INVALID');
  }
});

test('a certificate of another CA is refused as untrusted, even when that CA signed it correctly', () => {
  refused(issue({ ca: otherCa }), trust, 'AG_ERR_SSH_CERT_CA_UNTRUSTED');
  refused(issue(), { ...trust, trustedCaKeys: [] }, 'AG_ERR_SSH_CERT_CA_UNTRUSTED');
  // Trusting both works.
  verifyCertificate(issue({ ca: otherCa }), { ...trust, trustedCaKeys: [publicKeyBlob(ca), publicKeyBlob(otherCa)] });
});

test('valid after <= now < valid before, to the second', () => {
  verifyCertificate(issue(), { ...trust, nowSec: AFTER });
  verifyCertificate(issue(), { ...trust, nowSec: BEFORE - 1 });
  refused(issue(), { ...trust, nowSec: AFTER - 1 }, 'AG_ERR_SSH_CERT_NOT_YET_VALID');
  refused(issue(), { ...trust, nowSec: BEFORE }, 'AG_ERR_SSH_CERT_EXPIRED');
});

test('a user not among the principals is refused; a certificate without principals names nobody', () => {
  refused(issue(), { ...trust, user: 'mail' }, 'AG_ERR_SSH_CERT_PRINCIPAL_MISMATCH');
  refused(issue(), { ...trust, user: 'we' }, 'AG_ERR_SSH_CERT_PRINCIPAL_MISMATCH');
  // ssh-keygen signs without -n: to OpenSSH that means "any principal"; a user login here refuses it.
  const caLine = kg.newKey('ca-anyone');
  kg.run(['-q', '-s', 'ca-anyone', '-I', 'anyone', 'agent.pub']);
  const blob = certificateBlobOfLine(kg.read('agent-cert.pub'));
  const options = { trustedCaKeys: [parsePublicKeyLine(caLine).blob], nowSec: AFTER };
  assert.deepEqual(verifyCertificate(blob, options).principals, []);
  refused(blob, { ...options, user: 'web' }, 'AG_ERR_SSH_CERT_PRINCIPAL_MISMATCH');
});

test('a host certificate (ssh-keygen -h) is refused for a user login', () => {
  const caLine = kg.newKey('ca-host');
  kg.newKey('host');
  kg.run(['-q', '-s', 'ca-host', '-h', '-I', 'host', '-n', 'web', '-V', '+5m', 'host.pub']);
  const blob = certificateBlobOfLine(kg.read('host-cert.pub'));
  const options = { trustedCaKeys: [parsePublicKeyLine(caLine).blob], nowSec: Math.floor(Date.now() / 1000) };
  refused(blob, options, 'AG_ERR_SSH_CERT_TYPE_NOT_ALLOWED');
  refused(blob, { ...options, user: 'web' }, 'AG_ERR_SSH_CERT_TYPE_NOT_ALLOWED');
});

test('a critical option the caller does not enforce is refused; one it enforces passes', () => {
  const blob = issue({ criticalOptions: { 'force-command': 'true' } });
  refused(blob, trust, 'AG_ERR_SSH_CERT_OPTION_UNSUPPORTED');
  refused(blob, { ...trust, supportedCriticalOptions: ['source-address'] }, 'AG_ERR_SSH_CERT_OPTION_UNSUPPORTED');
  assert.deepEqual(verifyCertificate(blob, { ...trust, supportedCriticalOptions: ['force-command'] }).criticalOptions, {
    'force-command': 'true',
  });
});
