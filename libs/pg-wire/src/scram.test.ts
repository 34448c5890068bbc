import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError, type ErrorCode } from '@agentgate/errors';
import { md5PasswordHash } from './md5-password.js';
import { decodePasswordMessage, decodeSaslInitialResponse } from './password-message.js';
import { saltedPasswordCache, scramClientFinal, scramClientFirst, scramSaltedPassword, scramVerifyServerFinal } from './scram.js';
import * as client from './testing/golden-frontend.js';

const { hex } = client;

function withCode(code: ErrorCode): (e: unknown) => boolean {
  return (e) => e instanceof GatewayError && e.code === code;
}

// RFC 7677 section 3. The vector sends n=user; PostgreSQL clients send n= (see below).
const RFC = {
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

// psql 15 logging in as scramuser / 'pencil' to PostgreSQL 15.20 (bytes in the golden files).
const PG = {
  nonce: 'p8bFKhyDgtucGo7YWuioHeep',
  serverFirst: 'r=p8bFKhyDgtucGo7YWuioHeepNkYv1m1gbMP5kVCbg6XkWLuU,s=m2SRKom/mOGvlgD9R/Vrnw==,i=4096',
  clientFinal: 'c=biws,r=p8bFKhyDgtucGo7YWuioHeepNkYv1m1gbMP5kVCbg6XkWLuU,p=1JB9UWq52nXytw24ahWN0E4161rHFF6ljt2VtV4LtVc=',
  serverFinal: 'v=FuoPa1cfSPtjo4N6RoPPW1Gba9o78VFyvMiwltzmBa0=',
};

describe('SCRAM-SHA-256 client', () => {
  it('given the RFC 7677 vector with username user, then client-first, client-final and server-final match', () => {
    const first = scramClientFirst(RFC.nonce, { username: 'user' });
    assert.equal(first.message, 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = scramClientFinal(first.state, RFC.serverFirst, 'pencil');
    assert.equal(final.message, RFC.clientFinal);
    assert.equal(`v=${final.expectedServerSignature}`, RFC.serverFinal);
    assert.doesNotThrow(() => scramVerifyServerFinal(final.expectedServerSignature, RFC.serverFinal));
  });

  it('given the nonce psql used, then the messages equal what psql 15 sent to PostgreSQL 15', () => {
    const initial = decodeSaslInitialResponse(client.PSQL_SASL_INITIAL_RESPONSE.subarray(5));
    const first = scramClientFirst(PG.nonce);
    assert.equal(initial.mechanism, 'SCRAM-SHA-256');
    assert.equal(initial.initialResponse?.toString(), first.message);
    const final = scramClientFinal(first.state, PG.serverFirst, 'pencil');
    assert.equal(final.message, client.PSQL_SASL_RESPONSE.subarray(5).toString());
    assert.equal(final.message, PG.clientFinal);
    assert.deepStrictEqual(final.state, { expectedServerSignature: final.expectedServerSignature });
    assert.doesNotThrow(() => scramVerifyServerFinal(final.expectedServerSignature, PG.serverFinal));
  });

  it('escapes , and = in the username', () => {
    assert.equal(scramClientFirst('abc', { username: 'a,b=c' }).message, 'n,,n=a=2Cb=3Dc,r=abc');
  });

  it('rejects a client nonce with a comma or non-printable characters', () => {
    assert.throws(() => scramClientFirst('ab,c'), withCode('AG_ERR_PROTOCOL_VIOLATION'));
    assert.throws(() => scramClientFirst(''), withCode('AG_ERR_PROTOCOL_VIOLATION'));
  });

  const state = scramClientFirst(RFC.nonce).state;
  const rejections: [string, string, ErrorCode][] = [
    ['a server nonce not extending ours', 'r=XXprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', 'AG_ERR_UPSTREAM_AUTH_FAILED'],
    ['a server nonce equal to ours', `r=${RFC.nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, 'AG_ERR_UPSTREAM_AUTH_FAILED'],
    ['an iteration count of 4095', `r=${RFC.nonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`, 'AG_ERR_UPSTREAM_AUTH_FAILED'],
    ['a missing salt', `r=${RFC.nonce}x,i=4096`, 'AG_ERR_PROTOCOL_VIOLATION'],
    ['an empty salt', `r=${RFC.nonce}x,s=,i=4096`, 'AG_ERR_PROTOCOL_VIOLATION'],
    ['a salt that is not base64', `r=${RFC.nonce}x,s=***,i=4096`, 'AG_ERR_PROTOCOL_VIOLATION'],
    ['an iteration count that is not a number', `r=${RFC.nonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k`, 'AG_ERR_PROTOCOL_VIOLATION'],
    ['a mandatory extension', `m=ext,r=${RFC.nonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, 'AG_ERR_PROTOCOL_VIOLATION'],
    ['garbage', 'hello', 'AG_ERR_PROTOCOL_VIOLATION'],
  ];
  for (const [name, serverFirst, code] of rejections) {
    it(`given ${name}, then ${code}`, () => {
      assert.throws(() => scramClientFinal(state, serverFirst, 'pencil'), withCode(code));
    });
  }

  it('given minIterations 1000, then a server asking for 1000 is accepted', () => {
    assert.doesNotThrow(() =>
      scramClientFinal(state, `r=${RFC.nonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000`, 'pencil', { minIterations: 1000 }),
    );
  });

  it('given an iteration count above maxIterations, then AG_ERR_UPSTREAM_AUTH_FAILED before hashing', () => {
    assert.throws(
      () => scramClientFinal(state, `r=${RFC.nonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000`, 'pencil'),
      withCode('AG_ERR_UPSTREAM_AUTH_FAILED'),
    );
  });

  it('given a wrong server signature, then AG_ERR_UPSTREAM_AUTH_FAILED', () => {
    const { expectedServerSignature } = scramClientFinal(state, RFC.serverFirst, 'pencil');
    assert.throws(() => scramVerifyServerFinal(expectedServerSignature, PG.serverFinal), withCode('AG_ERR_UPSTREAM_AUTH_FAILED'));
  });

  it('given a server error e=invalid-proof, then AG_ERR_UPSTREAM_AUTH_FAILED', () => {
    assert.throws(() => scramVerifyServerFinal('x', 'e=invalid-proof'), withCode('AG_ERR_UPSTREAM_AUTH_FAILED'));
  });

  it('given a malformed server-final, then AG_ERR_PROTOCOL_VIOLATION', () => {
    assert.throws(() => scramVerifyServerFinal('x', 'q=1'), withCode('AG_ERR_PROTOCOL_VIOLATION'));
    assert.throws(() => scramVerifyServerFinal('x', 'v=%%%'), withCode('AG_ERR_PROTOCOL_VIOLATION'));
  });
});

describe('md5 password', () => {
  it('given md5user, pencil and the captured salt, then the hash equals what psql 15 sent', () => {
    const sent = decodePasswordMessage(client.PSQL_MD5_PASSWORD.subarray(5));
    assert.equal(md5PasswordHash('md5user', 'pencil', hex('e7ab7093')), sent);
    assert.equal(sent, 'md55c61ef3c23c61b826e592b10bdd9c9e2');
  });
});

describe('password message payloads', () => {
  it('decodes node-postgres SASLInitialResponse with n=*', () => {
    assert.deepStrictEqual(decodeSaslInitialResponse(client.NODE_PG_SASL_INITIAL_RESPONSE.subarray(5)), {
      mechanism: 'SCRAM-SHA-256',
      initialResponse: Buffer.from('n,,n=*,r=DEUTXRFYWhnjzCd816BpJAWx'),
    });
  });
  it('decodes a SASLInitialResponse without initial response (-1)', () => {
    assert.deepStrictEqual(decodeSaslInitialResponse(hex('534352414d2d5348412d32353600 ffffffff')), {
      mechanism: 'SCRAM-SHA-256',
      initialResponse: null,
    });
  });
  const bad: [string, () => unknown][] = [
    ['password without terminator', () => decodePasswordMessage(Buffer.from('secret'))],
    ['password with trailing bytes', () => decodePasswordMessage(hex('6100 62'))],
    ['SASL response length past the payload', () => decodeSaslInitialResponse(hex('6d00 00000005 6162'))],
    ['SASL response length -2', () => decodeSaslInitialResponse(hex('6d00 fffffffe'))],
    ['SASL mechanism unterminated', () => decodeSaslInitialResponse(hex('6d'))],
  ];
  for (const [name, run] of bad) {
    it(`rejects ${name}`, () => assert.throws(run, withCode('AG_ERR_PROTOCOL_VIOLATION')));
  }
});

describe('salted password cache', () => {
  it('gives what PBKDF2 gives, computing it once per password, salt and iteration count', () => {
    let computed = 0;
    const salt = Buffer.from('0123456789abcdef');
    const cache = saltedPasswordCache(2);
    const counting = (p: string, s: Buffer, i: number): Buffer => {
      computed++;
      return cache(p, s, i);
    };
    const first = counting('pw', salt, 4096);
    assert.deepEqual(first, scramSaltedPassword('pw', salt, 4096));
    assert.deepEqual(counting('pw', salt, 4096), first);
    assert.notDeepEqual(cache('other', salt, 4096), first, 'another password');
    assert.notDeepEqual(cache('pw', Buffer.from('fedcba9876543210'), 4096), first, 'another salt');
    assert.notDeepEqual(cache('pw', salt, 4097), first, 'another iteration count');
    assert.equal(computed, 2);
  });

  it('a SCRAM exchange with the cache proves the same as one without', () => {
    const first = scramClientFirst('rOprNGfwEbeRWgbNEkqO');
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    const plain = scramClientFinal(first.state, serverFirst, 'pencil');
    const cached = scramClientFinal(first.state, serverFirst, 'pencil', { saltedPassword: saltedPasswordCache() });
    assert.deepEqual(cached, plain);
  });
});
