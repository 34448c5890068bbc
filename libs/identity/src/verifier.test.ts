import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { SignJWT, type JWTPayload } from 'jose';
import { createTokenVerifier, type TokenAlgorithm, type TokenVerifier, type TrustedIssuer, type VerifierOptions } from './index.js';
import { FakeIdp, TestClock, makeKey, rawToken, sign, type SigningKey } from './testing/fake-idp.js';

const AUD = 'agentgate';
const ALGS: TokenAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** Asserts that `promise` rejects with `code` and that no message in the cause chain echoes the token. */
async function rejectsWith(promise: Promise<unknown>, code: string, token: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code);
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      if (token.length > 0) assert.ok(!e.message.includes(token), 'an error message contains the token');
      for (const part of token.split('.'))
        if (part.length >= 8) assert.ok(!e.message.includes(part), 'an error message contains part of the token');
    }
    return true;
  });
}

function claims(clock: TestClock, idp: FakeIdp, extra: JWTPayload = {}): JWTPayload {
  return { iss: idp.issuer, aud: AUD, sub: 'dave', iat: clock.sec - 10, exp: clock.sec + 3600, jti: 'jti-1', ...extra };
}

function verifierFor(
  idp: FakeIdp,
  clock: TestClock,
  issuer: Partial<TrustedIssuer> = {},
  options: Partial<VerifierOptions> = {},
): TokenVerifier {
  return createTokenVerifier({
    issuers: [{ issuer: idp.issuer, audience: AUD, algorithms: ALGS, ...issuer }],
    now: clock.now,
    fetchTimeoutMs: 500,
    ...options,
  });
}

describe('token verification against a fake IdP', () => {
  const keys = {} as Record<TokenAlgorithm, SigningKey>;
  let es2: SigningKey;
  let idp: FakeIdp;

  before(async () => {
    for (const alg of ALGS) keys[alg] = await makeKey(`kid-${alg}`, alg);
    es2 = await makeKey('kid-ES256-2', 'ES256');
    idp = await FakeIdp.start();
    idp.publish(...ALGS.map((a) => keys[a]));
  });
  after(() => idp.close());

  for (const alg of ALGS) {
    test(`given a ${alg} token from a trusted issuer, when verified, then the identity is returned`, async () => {
      const clock = new TestClock();
      const token = await sign(keys[alg], claims(clock, idp, { client_id: 'demo-agent' }));
      const identity = await verifierFor(idp, clock).verify(token);
      assert.deepEqual(identity, {
        subject: 'dave',
        issuer: idp.issuer,
        groups: [],
        actChain: [],
        actor: null,
        tokenId: 'jti-1',
        expiresAt: new Date((clock.sec + 3600) * 1000),
        issuedAt: new Date((clock.sec - 10) * 1000),
        audience: [AUD],
        clientId: 'demo-agent',
      });
    });
  }

  test('given alg none, when verified, then ALG_NOT_ALLOWED and no key is fetched', async () => {
    const clock = new TestClock();
    const fresh = await FakeIdp.start();
    try {
      const token = rawToken({ alg: 'none', typ: 'JWT' }, claims(clock, fresh));
      await rejectsWith(verifierFor(fresh, clock).verify(token), 'AG_ERR_TOKEN_ALG_NOT_ALLOWED', token);
      const noTyp = rawToken({ alg: 'none' }, claims(clock, fresh));
      await rejectsWith(verifierFor(fresh, clock).verify(noTyp), 'AG_ERR_TOKEN_ALG_NOT_ALLOWED', noTyp);
      assert.deepEqual(fresh.requests, { discovery: 0, jwks: 0 });
    } finally {
      await fresh.close();
    }
  });

  test('given HS256 signed with the public key as HMAC secret, when verified, then ALG_NOT_ALLOWED before any fetch', async () => {
    const clock = new TestClock();
    const fresh = await FakeIdp.start();
    try {
      fresh.publish(keys.RS256);
      // The classic confusion: a verifier that feeds "the issuer's key" to HMAC would accept this.
      for (const secret of [JSON.stringify(keys.RS256.publicJwk), keys.RS256.publicJwk.n ?? '']) {
        const token = await new SignJWT(claims(clock, fresh))
          .setProtectedHeader({ alg: 'HS256', kid: keys.RS256.kid, typ: 'at+jwt' })
          .sign(new TextEncoder().encode(secret));
        await rejectsWith(verifierFor(fresh, clock).verify(token), 'AG_ERR_TOKEN_ALG_NOT_ALLOWED', token);
      }
      assert.deepEqual(fresh.requests, { discovery: 0, jwks: 0 });
    } finally {
      await fresh.close();
    }
  });

  test('given an alg another issuer allows but this one does not, when verified, then ALG_NOT_ALLOWED', async () => {
    const clock = new TestClock();
    const verifier = createTokenVerifier({
      issuers: [
        { issuer: idp.issuer, audience: AUD, algorithms: ['ES256'] },
        { issuer: 'https://other.example', audience: AUD, algorithms: ['RS256'] },
      ],
      now: clock.now,
    });
    const token = await sign(keys.RS256, claims(clock, idp));
    await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_ALG_NOT_ALLOWED', token);
  });

  test('given a token whose payload was altered, when verified, then SIGNATURE_INVALID', async () => {
    const clock = new TestClock();
    const token = await sign(keys.ES256, claims(clock, idp));
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims(clock, idp, { sub: 'admin' }))).toString('base64url')}.${s}`;
    await rejectsWith(verifierFor(idp, clock).verify(forged), 'AG_ERR_TOKEN_SIGNATURE_INVALID', forged);
  });

  test('given an expired token, when verified, then EXPIRED; within the clock tolerance it passes', async () => {
    const clock = new TestClock();
    const expired = await sign(keys.ES256, claims(clock, idp, { iat: clock.sec - 600, exp: clock.sec - 31 }));
    await rejectsWith(verifierFor(idp, clock).verify(expired), 'AG_ERR_TOKEN_EXPIRED', expired);
    const barely = await sign(keys.ES256, claims(clock, idp, { iat: clock.sec - 600, exp: clock.sec - 20 }));
    assert.equal((await verifierFor(idp, clock).verify(barely)).subject, 'dave');
    await rejectsWith(verifierFor(idp, clock, { clockToleranceSec: 0 }).verify(barely), 'AG_ERR_TOKEN_EXPIRED', barely);
  });

  test('given nbf in the future, when verified, then NOT_YET_VALID', async () => {
    const clock = new TestClock();
    const token = await sign(keys.ES256, claims(clock, idp, { nbf: clock.sec + 120 }));
    await rejectsWith(verifierFor(idp, clock).verify(token), 'AG_ERR_TOKEN_NOT_YET_VALID', token);
    clock.advance(121_000);
    assert.equal((await verifierFor(idp, clock).verify(token)).subject, 'dave');
  });

  test('given an untrusted iss, when verified, then ISSUER_UNTRUSTED without fetching keys', async () => {
    const clock = new TestClock();
    const fresh = await FakeIdp.start();
    try {
      const token = await sign(keys.ES256, claims(clock, fresh, { iss: `${fresh.issuer}/evil` }));
      await rejectsWith(verifierFor(fresh, clock).verify(token), 'AG_ERR_TOKEN_ISSUER_UNTRUSTED', token);
      const noIss = await sign(keys.ES256, claims(clock, fresh, { iss: undefined }));
      await rejectsWith(verifierFor(fresh, clock).verify(noIss), 'AG_ERR_TOKEN_CLAIM_MISSING', noIss);
      assert.deepEqual(fresh.requests, { discovery: 0, jwks: 0 });
    } finally {
      await fresh.close();
    }
  });

  test("given a token naming trusted issuer B but signed with issuer A's key, when verified, then KEY_UNKNOWN", async () => {
    const clock = new TestClock();
    const b = await FakeIdp.start({ basePath: '/realms/b' });
    try {
      b.publish(es2);
      const verifier = createTokenVerifier({
        issuers: [
          { issuer: idp.issuer, audience: AUD, algorithms: ALGS },
          { issuer: b.issuer, audience: AUD, algorithms: ['ES256'] },
        ],
        now: clock.now,
      });
      const token = await sign(keys.ES256, claims(clock, b));
      await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_KEY_UNKNOWN', token);
      // Same kid as one of B's keys but A's private key: the signature cannot verify.
      const spoofed = await sign({ ...keys.ES256, kid: es2.kid }, claims(clock, b));
      await rejectsWith(verifier.verify(spoofed), 'AG_ERR_TOKEN_SIGNATURE_INVALID', spoofed);
    } finally {
      await b.close();
    }
  });

  test('given a wrong audience, when verified, then AUDIENCE_MISMATCH; any accepted value in a list passes', async () => {
    const clock = new TestClock();
    const wrong = await sign(keys.ES256, claims(clock, idp, { aud: 'someone-else' }));
    await rejectsWith(verifierFor(idp, clock).verify(wrong), 'AG_ERR_TOKEN_AUDIENCE_MISMATCH', wrong);
    const listed = await sign(keys.ES256, claims(clock, idp, { aud: ['account', AUD] }));
    assert.deepEqual((await verifierFor(idp, clock).verify(listed)).audience, ['account', AUD]);
    const none = await sign(keys.ES256, claims(clock, idp, { aud: undefined }));
    await rejectsWith(verifierFor(idp, clock).verify(none), 'AG_ERR_TOKEN_CLAIM_MISSING', none);
  });

  test('given a missing required claim, when verified, then CLAIM_MISSING', async () => {
    const clock = new TestClock();
    const noIat = await sign(keys.ES256, claims(clock, idp, { iat: undefined }));
    await rejectsWith(verifierFor(idp, clock).verify(noIat), 'AG_ERR_TOKEN_CLAIM_MISSING', noIat);
    // exp stays required even when the configuration leaves it out.
    const noExp = await sign(keys.ES256, claims(clock, idp, { exp: undefined }));
    await rejectsWith(verifierFor(idp, clock, { requiredClaims: [] }).verify(noExp), 'AG_ERR_TOKEN_CLAIM_MISSING', noExp);
    const noJti = await sign(keys.ES256, claims(clock, idp, { jti: undefined }));
    await rejectsWith(verifierFor(idp, clock, { requiredClaims: ['jti'] }).verify(noJti), 'AG_ERR_TOKEN_CLAIM_MISSING', noJti);
  });

  test('given a client-credentials token without sub, when verified, then the subject is client_id', async () => {
    const clock = new TestClock();
    const token = await sign(keys.ES256, claims(clock, idp, { sub: undefined, client_id: 'batch-agent' }));
    const identity = await verifierFor(idp, clock).verify(token);
    assert.equal(identity.subject, 'batch-agent');
    assert.equal(identity.clientId, 'batch-agent');
    const anonymous = await sign(keys.ES256, claims(clock, idp, { sub: undefined }));
    await rejectsWith(verifierFor(idp, clock).verify(anonymous), 'AG_ERR_TOKEN_CLAIM_MISSING', anonymous);
  });

  test('given malformed strings, when verified, then MALFORMED', async () => {
    const verifier = verifierFor(idp, new TestClock());
    const b64 = (s: string): string => Buffer.from(s).toString('base64url');
    const samples = [
      '',
      'abc',
      'a.b',
      '%%%.***.$$$',
      'Zm9vYmFy.YmF6cXV4.c2lnbmF0dXJl',
      `${b64('not json')}.${b64('{}')}.sig`,
      `${b64('[]')}.${b64('{}')}.sig`,
      `${b64('{"typ":"JWT"}')}.${b64('{}')}.sig`,
      `${b64('{"alg":"ES256"}')}.${b64('not json')}.sig`,
      `${b64('{"alg":"ES256"}')}.${b64('[1]')}.sig`,
      `${b64('{"alg":"ES256"}')}.${b64('{}')}.a.b`,
    ];
    for (const token of samples) await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_MALFORMED', token);
    await rejectsWith(verifier.verify(42 as unknown as string), 'AG_ERR_TOKEN_MALFORMED', '');
  });

  test('given a 1 MiB token, when verified, then TOO_LARGE in well under 10 ms', async () => {
    const verifier = verifierFor(idp, new TestClock());
    const huge = `${'e'.repeat(512 * 1024)}.${'x'.repeat(512 * 1024 - 2)}.`;
    await rejectsWith(verifier.verify(huge), 'AG_ERR_TOKEN_TOO_LARGE', huge); // warm-up
    const started = performance.now();
    await verifier.verify(huge).catch(() => undefined);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 10, `took ${elapsed} ms`);
    // The limit is inclusive: one character over is rejected, exactly at it is not.
    const small = verifierFor(idp, new TestClock(), {}, { maxTokenBytes: 10 });
    await rejectsWith(small.verify('a'.repeat(11)), 'AG_ERR_TOKEN_TOO_LARGE', 'a'.repeat(11));
    await rejectsWith(small.verify('a'.repeat(10)), 'AG_ERR_TOKEN_MALFORMED', 'a'.repeat(10));
  });

  test('given typ variants, when verified with the default list, then JWT, at+jwt, application/at+jwt and no typ pass; id_token+jwt does not', async () => {
    const clock = new TestClock();
    const verifier = verifierFor(idp, clock);
    for (const typ of ['JWT', 'jwt', 'at+jwt', 'AT+JWT', 'application/at+jwt', undefined]) {
      const token = await sign(keys.ES256, claims(clock, idp), { typ });
      assert.equal((await verifier.verify(token)).subject, 'dave', `typ ${String(typ)}`);
    }
    for (const typ of ['id_token+jwt', 'application/jwt+x', 'dpop+jwt']) {
      const token = await sign(keys.ES256, claims(clock, idp), { typ });
      await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_TYPE_NOT_ALLOWED', token);
    }
  });

  test('given acceptedTypes [at+jwt], when verified, then JWT and a missing typ are rejected', async () => {
    const clock = new TestClock();
    const verifier = verifierFor(idp, clock, { acceptedTypes: ['at+jwt'] });
    assert.equal((await verifier.verify(await sign(keys.ES256, claims(clock, idp), { typ: 'application/at+jwt' }))).subject, 'dave');
    for (const typ of ['JWT', undefined]) {
      const token = await sign(keys.ES256, claims(clock, idp), { typ });
      await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_TYPE_NOT_ALLOWED', token);
    }
  });

  test('given groups under different claim paths, when verified, then groups are read from the configured path', async () => {
    const clock = new TestClock();
    const cases: { path?: string[]; extra: JWTPayload; groups: string[] }[] = [
      { extra: { groups: ['dba', 'oncall', 'dba'] }, groups: ['dba', 'oncall'] },
      { path: ['realm_access', 'roles'], extra: { realm_access: { roles: ['analyst'] } }, groups: ['analyst'] },
      {
        path: ['https://agentgate.dev/groups'],
        extra: { 'https://agentgate.dev/groups': 'readers writers' },
        groups: ['readers', 'writers'],
      },
      { path: ['roles'], extra: { roles: 'single' }, groups: ['single'] },
      { path: ['realm_access', 'roles'], extra: {}, groups: [] },
    ];
    for (const { path, extra, groups } of cases) {
      const token = await sign(keys.ES256, claims(clock, idp, extra));
      const identity = await verifierFor(idp, clock, path ? { groupsClaim: path } : {}).verify(token);
      assert.deepEqual(identity.groups, groups);
    }
    const bad = await sign(keys.ES256, claims(clock, idp, { groups: [1, 2] }));
    await rejectsWith(verifierFor(idp, clock).verify(bad), 'AG_ERR_TOKEN_CLAIM_MISSING', bad);
  });

  test('given a two-level act claim, when verified, then actChain runs principal -> earlier actor -> current actor', async () => {
    const clock = new TestClock();
    // RFC 8693 §4.1: the outermost act is the current actor; nested acts are prior actors.
    const token = await sign(
      keys.ES256,
      claims(clock, idp, {
        client_id: 'helper-client',
        act: { sub: 'helper', client_id: 'helper-client', act: { sub: 'demo-agent', iss: idp.issuer } },
      }),
    );
    const identity = await verifierFor(idp, clock).verify(token);
    assert.equal(identity.subject, 'dave');
    assert.equal(identity.actor, 'helper');
    assert.deepEqual(identity.actChain, [
      { subject: 'dave', issuer: idp.issuer, clientId: null },
      { subject: 'demo-agent', issuer: idp.issuer, clientId: null },
      { subject: 'helper', issuer: null, clientId: 'helper-client' },
    ]);
  });

  test('given act nested deeper than 8 or an act without sub, when verified, then CLAIM_MISSING', async () => {
    const clock = new TestClock();
    let act: JWTPayload = { sub: 'a0' };
    for (let i = 1; i < 9; i++) act = { sub: `a${i}`, act };
    const deep = await sign(keys.ES256, claims(clock, idp, { act }));
    await rejectsWith(verifierFor(idp, clock).verify(deep), 'AG_ERR_TOKEN_CLAIM_MISSING', deep);
    const eight = await sign(keys.ES256, claims(clock, idp, { act: (act as { act: JWTPayload }).act }));
    assert.equal((await verifierFor(idp, clock).verify(eight)).actChain.length, 9);
    const noSub = await sign(keys.ES256, claims(clock, idp, { act: { client_id: 'x' } }));
    await rejectsWith(verifierFor(idp, clock).verify(noSub), 'AG_ERR_TOKEN_CLAIM_MISSING', noSub);
  });

  test('given no kid and several keys of the type, when verified, then each candidate is tried', async () => {
    const clock = new TestClock();
    const fresh = await FakeIdp.start();
    try {
      const a = await makeKey('a', 'ES256', false);
      const b = await makeKey('b', 'ES256', false);
      fresh.publish(a, b);
      const token = await sign(b, claims(clock, fresh), { kid: undefined });
      assert.equal((await verifierFor(fresh, clock).verify(token)).subject, 'dave');
      const stranger = await makeKey('c', 'ES256');
      const forged = await sign(stranger, claims(clock, fresh), { kid: undefined });
      await rejectsWith(verifierFor(fresh, clock).verify(forged), 'AG_ERR_TOKEN_SIGNATURE_INVALID', forged);
    } finally {
      await fresh.close();
    }
  });
});

describe('key rotation, revocation and IdP availability', () => {
  let k1: SigningKey;
  let k2: SigningKey;
  before(async () => {
    k1 = await makeKey('k1', 'ES256');
    k2 = await makeKey('k2', 'ES256');
  });

  test('given an unknown kid, when verified, then KEY_UNKNOWN after at most one refetch per cooldown', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    try {
      idp.publish(k1);
      const verifier = verifierFor(idp, clock);
      const token = await sign(k2, claims(clock, idp));
      await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_KEY_UNKNOWN', token);
      await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_KEY_UNKNOWN', token);
      assert.equal(idp.requests.jwks, 1, 'within the cooldown an unknown kid must not refetch');
      clock.advance(1000);
      await rejectsWith(verifier.verify(token), 'AG_ERR_TOKEN_KEY_UNKNOWN', token);
      assert.equal(idp.requests.jwks, 2);
      assert.equal(idp.requests.discovery, 1, 'the discovered jwks_uri is cached');
    } finally {
      await idp.close();
    }
  });

  test('given a newly added key, when a token signed with it arrives after the cooldown, then the same verifier accepts it', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    try {
      idp.publish(k1);
      const verifier = verifierFor(idp, clock);
      assert.equal((await verifier.verify(await sign(k1, claims(clock, idp)))).subject, 'dave');
      idp.publish(k1, k2);
      clock.advance(1000);
      assert.equal((await verifier.verify(await sign(k2, claims(clock, idp)))).subject, 'dave');
      assert.equal(idp.requests.jwks, 2);
    } finally {
      await idp.close();
    }
  });

  test('given a key removed after it was seen, when the JWKS is refetched on rotation, then its tokens are KEY_REVOKED', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    try {
      idp.publish(k1);
      const verifier = verifierFor(idp, clock);
      const old = await sign(k1, claims(clock, idp));
      await verifier.verify(old);
      idp.publish(k2);
      clock.advance(1000);
      await verifier.verify(await sign(k2, claims(clock, idp))); // unknown kid -> refetch sees k1 gone
      await rejectsWith(verifier.verify(old), 'AG_ERR_TOKEN_KEY_REVOKED', old);
    } finally {
      await idp.close();
    }
  });

  test('given a key removed after it was seen, when the cache passes its max age, then its tokens are KEY_REVOKED', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    try {
      idp.publish(k1);
      const verifier = verifierFor(idp, clock, {}, { jwksCacheMaxAgeMs: 60_000 });
      const old = await sign(k1, claims(clock, idp));
      await verifier.verify(old);
      idp.publish(k2);
      clock.advance(30_000);
      assert.equal((await verifier.verify(old)).subject, 'dave', 'within the max age cached keys are trusted');
      clock.advance(30_000);
      await rejectsWith(verifier.verify(old), 'AG_ERR_TOKEN_KEY_REVOKED', old);
    } finally {
      await idp.close();
    }
  });

  test('given the IdP is down, when a fresh verifier verifies, then IDP_UNAVAILABLE (retriable)', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    idp.publish(k1);
    const token = await sign(k1, claims(clock, idp));
    await idp.close();
    const verifier = verifierFor(idp, clock);
    await rejectsWith(verifier.verify(token), 'AG_ERR_IDP_UNAVAILABLE', token);
    await assert.rejects(verifier.verify(token), (e: { retriable?: boolean }) => e.retriable === true);
  });

  test('given the IdP went down after a fetch, when within the cache max age, then tokens still verify; past it, IDP_UNAVAILABLE', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    idp.publish(k1);
    const verifier = verifierFor(idp, clock);
    const token = await sign(k1, claims(clock, idp));
    await verifier.verify(token);
    await idp.close();
    clock.advance(9 * 60_000);
    assert.equal((await verifier.verify(token)).subject, 'dave');
    clock.advance(60_000);
    await rejectsWith(verifier.verify(token), 'AG_ERR_IDP_UNAVAILABLE', token);
  });

  test('given the IdP is down, when a token with an unknown kid arrives, then IDP_UNAVAILABLE rather than KEY_UNKNOWN', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    idp.publish(k1);
    const verifier = verifierFor(idp, clock);
    await verifier.verify(await sign(k1, claims(clock, idp)));
    await idp.close();
    clock.advance(1000);
    const token = await sign(k2, claims(clock, idp));
    await rejectsWith(verifier.verify(token), 'AG_ERR_IDP_UNAVAILABLE', token);
  });

  test('given an IdP that never answers, when verified, then IDP_UNAVAILABLE after the fetch timeout', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start({ hang: true });
    try {
      const token = await sign(k1, claims(clock, idp));
      const started = performance.now();
      await rejectsWith(verifierFor(idp, clock, {}, { fetchTimeoutMs: 100 }).verify(token), 'AG_ERR_IDP_UNAVAILABLE', token);
      assert.ok(performance.now() - started < 2000);
    } finally {
      await idp.close();
    }
  });

  test('given an IdP answering 500 or a discovery document naming another issuer, when verified, then IDP_UNAVAILABLE', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start({ basePath: '/realms/demo' });
    try {
      idp.publish(k1);
      const token = await sign(k1, claims(clock, idp));
      idp.status = 500;
      await rejectsWith(verifierFor(idp, clock).verify(token), 'AG_ERR_IDP_UNAVAILABLE', token);
      idp.status = 200;
      idp.discoveryIssuer = 'https://attacker.example';
      await rejectsWith(verifierFor(idp, clock).verify(token), 'AG_ERR_IDP_UNAVAILABLE', token);
      idp.discoveryIssuer = idp.issuer;
      assert.equal((await verifierFor(idp, clock).verify(token)).subject, 'dave');
    } finally {
      await idp.close();
    }
  });

  test('given a configured jwksUri, when verified, then discovery is skipped', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    try {
      idp.publish(k1);
      await verifierFor(idp, clock, { jwksUri: idp.jwksUri }).verify(await sign(k1, claims(clock, idp)));
      assert.deepEqual(idp.requests, { discovery: 0, jwks: 1 });
    } finally {
      await idp.close();
    }
  });

  test('given many concurrent first verifications, when verified, then discovery and JWKS are fetched once', async () => {
    const clock = new TestClock();
    const idp = await FakeIdp.start();
    try {
      idp.publish(k1);
      const verifier = verifierFor(idp, clock);
      const token = await sign(k1, claims(clock, idp));
      const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
      assert.equal(results.length, 20);
      assert.deepEqual(idp.requests, { discovery: 1, jwks: 1 });
    } finally {
      await idp.close();
    }
  });
});
