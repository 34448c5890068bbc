// The certificate API with inject(): what it signs for a verified token (and for how long), and
// what it refuses, each with its code. Certificates are checked with the library's verifier.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import { auditActor, type VerifiedIdentity } from '@agentgate/identity';
import {
  certificateBlobOfLine,
  fingerprint,
  openSshPublicKey,
  parsePublicKeyLine,
  publicKeyBlob,
  verifyCertificate,
} from '@agentgate/ssh-cert';
import { ACTOR_EXTENSION, parseActorExtension } from './cert-actor.js';
import { BACKDATE_SEC, CERT_API_BODY_LIMIT, createCertApi, type CertApiDeps } from './cert-api.js';

const { privateKey: ca } = generateKeyPairSync('ed25519');
const { publicKey: agentKey } = generateKeyPairSync('ed25519');
const AGENT_LINE = openSshPublicKey(agentKey, 'agent@laptop');
const NOW = new Date('2025-03-01T12:00:00Z');
const NOW_SEC = NOW.getTime() / 1000;

function identity(overrides: Partial<VerifiedIdentity> = {}): VerifiedIdentity {
  return {
    subject: 'alice',
    issuer: 'http://idp.test',
    groups: ['dev', 'ops'],
    actChain: [
      { subject: 'alice', issuer: 'http://idp.test', clientId: null },
      { subject: 'planner', issuer: null, clientId: 'planner' },
    ],
    actor: 'planner',
    tokenId: 'jti-1',
    expiresAt: new Date(NOW.getTime() + 3600_000),
    issuedAt: NOW,
    audience: ['agentgate'],
    clientId: 'planner',
    ...overrides,
  };
}

function app(overrides: Partial<CertApiDeps> = {}, who: VerifiedIdentity = identity()) {
  return createCertApi({
    verifyToken: async (token) => {
      if (token !== 'good') throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
      return who;
    },
    connectionsFor: (id) => (id.groups.includes('ops') ? ['web', 'db', 'web'] : []),
    ca,
    now: () => NOW,
    maxTtlSec: 8 * 3600,
    newSerial: () => 77n,
    ...overrides,
  });
}

const auth = { authorization: 'Bearer good' };
const issue = (a: ReturnType<typeof app>, body: unknown, headers: Record<string, string> = auth) =>
  a.inject({ method: 'POST', url: '/v1/ssh/certificates', headers, payload: body as Record<string, unknown> });

test('a verified token gets a certificate of its key: key id, principals, validity, extensions', async () => {
  const r = await issue(app(), { publicKey: AGENT_LINE });
  assert.equal(r.statusCode, 201, r.body);
  const body = r.json();
  assert.equal(body.keyId, 'alice');
  assert.deepEqual(body.principals, ['web', 'db']);
  assert.equal(body.validBeforeSec, NOW_SEC + 3600);
  assert.equal(body.caFingerprint, fingerprint(publicKeyBlob(ca)));
  const cert = verifyCertificate(certificateBlobOfLine(body.certificate), {
    trustedCaKeys: [publicKeyBlob(ca)],
    nowSec: NOW_SEC,
    user: 'db',
  });
  assert.deepEqual(cert.publicKeyBlob, parsePublicKeyLine(AGENT_LINE).blob);
  assert.equal(cert.keyId, 'alice');
  assert.equal(cert.serial, 77n);
  assert.deepEqual(cert.principals, ['web', 'db']);
  assert.equal(cert.validAfterSec, NOW_SEC - BACKDATE_SEC);
  assert.equal(cert.validBeforeSec, NOW_SEC + 3600);
  assert.deepEqual(Object.keys(cert.extensions), [ACTOR_EXTENSION, 'permit-port-forwarding', 'permit-pty']);
  assert.deepEqual(cert.criticalOptions, {});
  // The SSH server reads the actor back with cert-actor.ts; it records certificate logins as such.
  assert.deepEqual(parseActorExtension(cert.extensions[ACTOR_EXTENSION]), {
    actor: { ...auditActor(identity()), authMethod: 'ssh-certificate' },
    tokenExpiresAtSec: NOW_SEC + 3600,
  });
});

test('a certificate lives no longer than maxTtlSec, nor than its token', async () => {
  const short = await issue(app({ maxTtlSec: 600 }), { publicKey: AGENT_LINE });
  assert.equal(short.json().validBeforeSec, NOW_SEC + 600);
  const expiring = await issue(app({}, identity({ expiresAt: new Date(NOW.getTime() + 90_500) })), { publicKey: AGENT_LINE });
  assert.equal(expiring.json().validBeforeSec, NOW_SEC + 90);
  // Admitted by the verifier's clock tolerance but already past exp: nothing is issued.
  const expired = await issue(app({}, identity({ expiresAt: new Date(NOW.getTime() - 5_000) })), { publicKey: AGENT_LINE });
  assert.equal(expired.statusCode, 401);
  assert.equal(expired.json().code, 'AG_ERR_TOKEN_EXPIRED');
});

test('no token, a refused token: 401 with the code, before the body is looked at', async () => {
  const none = await issue(app(), { publicKey: AGENT_LINE }, {});
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().code, 'AG_ERR_UNAUTHENTICATED');
  const bad = await issue(app(), { nonsense: true }, { authorization: 'Bearer forged' });
  assert.equal(bad.statusCode, 401);
  assert.equal(bad.json().code, 'AG_ERR_TOKEN_SIGNATURE_INVALID');
  assert.equal((await app().inject({ url: '/v1/ssh/ca' })).statusCode, 401);
});

test('a key that is not ssh-ed25519, malformed or too long is a 400 problem with its code', async () => {
  const a = app();
  const cases: [unknown, number, string][] = [
    [{ publicKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 me' }, 400, 'AG_ERR_SSH_KEY_UNSUPPORTED'],
    [{ publicKey: 'ssh-ed25519 AAAA!!' }, 400, 'AG_ERR_SSH_KEY_INVALID'],
    [{ publicKey: `${AGENT_LINE} ${'x'.repeat(2000)}` }, 400, 'AG_ERR_SSH_KEY_INVALID'],
    [{ publicKey: 42 }, 400, 'AG_ERR_BAD_REQUEST'],
    [{}, 400, 'AG_ERR_BAD_REQUEST'],
    [{ publicKey: AGENT_LINE, principals: ['root'] }, 400, 'AG_ERR_BAD_REQUEST'],
    [{ publicKey: `${AGENT_LINE} ${'x'.repeat(CERT_API_BODY_LIMIT)}` }, 413, 'AG_ERR_BAD_REQUEST'],
  ];
  for (const [body, status, code] of cases) {
    const r = await issue(a, body);
    assert.equal(r.statusCode, status, JSON.stringify(body).slice(0, 80));
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(r.json().code, code, JSON.stringify(body).slice(0, 80));
  }
});

test('an identity that may use no connection gets no certificate (an empty principal list means anyone to OpenSSH)', async () => {
  const r = await issue(app({}, identity({ groups: ['dev'] })), { publicKey: AGENT_LINE });
  assert.equal(r.statusCode, 403);
  assert.equal(r.json().code, 'AG_ERR_CONNECTION_FORBIDDEN');
});

test('GET /v1/ssh/ca returns the CA public key line and its fingerprint', async () => {
  const r = await app().inject({ url: '/v1/ssh/ca', headers: auth });
  assert.equal(r.statusCode, 200);
  const { publicKey, fingerprint: fp } = r.json();
  const line = parsePublicKeyLine(publicKey);
  assert.deepEqual(line.blob, publicKeyBlob(ca));
  assert.equal(line.comment, 'agentgate-ssh-ca');
  assert.equal(fp, fingerprint(publicKeyBlob(ca)));
});

test('the app refuses a CA key that is not Ed25519 when it is built', () => {
  const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(
    () => app({ ca: rsa }),
    (e) => (e as GatewayError).code === 'AG_ERR_SSH_KEY_UNSUPPORTED',
  );
  assert.throws(
    () => app({ maxTtlSec: 0 }),
    (e) => (e as GatewayError).code === 'AG_ERR_CONFIG_INVALID',
  );
});
