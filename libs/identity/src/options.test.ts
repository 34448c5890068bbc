import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenVerifier, type TrustedIssuer, type VerifierOptions } from './index.js';

const good: TrustedIssuer = { issuer: 'https://idp.example/realms/demo', audience: 'agentgate', algorithms: ['ES256'] };

function rejectsConfig(options: VerifierOptions): void {
  assert.throws(
    () => createTokenVerifier(options),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
}

test('given valid options, when a verifier is created, then it is created eagerly without I/O', () => {
  assert.equal(typeof createTokenVerifier({ issuers: [good] }).verify, 'function');
});

test('given HS256, none or an unknown algorithm in the allow-list, when a verifier is created, then CONFIG_INVALID', () => {
  for (const alg of ['HS256', 'HS384', 'HS512', 'none', 'RS512', 'ES256K']) {
    rejectsConfig({ issuers: [{ ...good, algorithms: ['ES256', alg as 'ES256'] }] });
  }
  rejectsConfig({ issuers: [{ ...good, algorithms: [] }] });
});

test('given malformed issuers, when a verifier is created, then CONFIG_INVALID', () => {
  rejectsConfig({ issuers: [] });
  rejectsConfig({ issuers: [{ ...good, issuer: 'not a url' }] });
  rejectsConfig({ issuers: [{ ...good, issuer: 'file:///etc/passwd' }] });
  rejectsConfig({ issuers: [{ ...good, jwksUri: 'ftp://idp.example/jwks' }] });
  rejectsConfig({ issuers: [{ ...good, audience: [] }] });
  rejectsConfig({ issuers: [{ ...good, audience: '' }] });
  rejectsConfig({ issuers: [good, { ...good }] });
  rejectsConfig({ issuers: [{ ...good, clockToleranceSec: -1 }] });
  rejectsConfig({ issuers: [{ ...good, clockToleranceSec: 3600 }] });
  rejectsConfig({ issuers: [{ ...good, acceptedTypes: [] }] });
  rejectsConfig({ issuers: [{ ...good, groupsClaim: [''] }] });
  rejectsConfig({ issuers: [{ ...good, subjectClaim: [] }] });
});

test('given bad numeric options, when a verifier is created, then CONFIG_INVALID naming every problem', () => {
  assert.throws(
    () =>
      createTokenVerifier({ issuers: [good], maxTokenBytes: 0, fetchTimeoutMs: 1.5, jwksCooldownMs: -1, jwksCacheMaxAgeMs: Number.NaN }),
    (e: { code?: string; message: string }) =>
      e.code === 'AG_ERR_CONFIG_INVALID' &&
      ['maxTokenBytes', 'fetchTimeoutMs', 'jwksCooldownMs', 'jwksCacheMaxAgeMs'].every((n) => e.message.includes(n)),
  );
});
