import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BackendFramer, md5PasswordHash, type BackendFrame } from '@agentgate/pg-wire';
import { golden, goldenBackend } from '@agentgate/pg-wire/testing';
import { serialize } from 'pg-protocol';
import type { UpstreamAuthMethod } from './connections.js';
import { AUTH_START, isAuthenticated, upstreamAuthStep, type UpstreamAuthState } from './upstream-auth.js';

// PostgreSQL 15 logging in psql as scramuser / 'pencil' with this client nonce
// (libs/pg-wire's golden bytes; the same vector as scram.test.ts).
const PASSWORD = 'pencil';
const NONCE = 'p8bFKhyDgtucGo7YWuioHeep';

function frames(bytes: Buffer): BackendFrame[] {
  const out: BackendFrame[] = [];
  const framer = new BackendFramer();
  assert.equal(
    framer.push(bytes, (f) => out.push(f)),
    undefined,
  );
  return out;
}

// After the one-byte 'N' answer to SSLRequest: SASL, SASLContinue, SASLFinal, Ok, S..., K, Z.
const login = frames(goldenBackend.SERVER_SCRAM_LOGIN.subarray(1));
const [sasl, saslContinue, saslFinal, ok] = login.map((f) => f.raw) as [Buffer, Buffer, Buffer, Buffer];

/** Authentication request: Byte1('R') Int32 length Int32 code [payload]. */
function authFrame(code: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const frame = Buffer.alloc(9 + payload.length);
  frame.write('R', 0, 'latin1');
  frame.writeInt32BE(8 + payload.length, 1);
  frame.writeInt32BE(code, 5);
  payload.copy(frame, 9);
  return frame;
}
const CLEARTEXT = authFrame(3);
const MD5 = goldenBackend.SERVER_MD5_REQUEST;

function context(allowed: UpstreamAuthMethod[]) {
  return { allowed, username: 'scramuser', password: PASSWORD, clientNonce: NONCE };
}

/** Feeds frames in order; returns the replies and the final state, or the error thrown. */
function run(input: Buffer[], allowed: UpstreamAuthMethod[] = ['scram-sha-256']) {
  let state: UpstreamAuthState = AUTH_START;
  const replies: Buffer[] = [];
  try {
    for (const frame of input) {
      const step = upstreamAuthStep(state, frame, context(allowed));
      state = step.state;
      if (step.reply) replies.push(step.reply);
    }
  } catch (error) {
    return { state, replies, error: error as { code?: string; message: string; cause?: Error } };
  }
  return { state, replies, error: undefined };
}

function assertRefused(result: ReturnType<typeof run>, reason: RegExp): void {
  assert.equal(result.error?.code, 'AG_ERR_UPSTREAM_AUTH_FAILED', `refused, got ${String(result.error?.message)}`);
  assert.equal(isAuthenticated(result.state), false);
  assert.match(result.error?.cause?.message ?? result.error?.message ?? '', reason);
  // The agent reads the message: it carries no password and no protocol detail.
  assert.doesNotMatch(result.error?.message ?? '', new RegExp(PASSWORD));
}

describe('upstream authentication decisions', () => {
  it('given the golden SCRAM login, then the replies are what psql sent and Ok is accepted after the verified SASLFinal', () => {
    const result = run([sasl, saslContinue, saslFinal, ok]);
    assert.equal(result.error, undefined);
    assert.deepEqual(result.state, { step: 'authenticated', method: 'scram-sha-256' });
    assert.deepEqual(result.replies, [golden.PSQL_SASL_INITIAL_RESPONSE, golden.PSQL_SASL_RESPONSE]);
  });

  it('given AuthenticationOk before SASLFinal, then the login fails', () => {
    assertRefused(run([sasl, saslContinue, ok]), /before a verified SASLFinal/);
    assertRefused(run([sasl, ok]), /before a verified SASLFinal/);
  });

  it('given a SASLFinal with a wrong server signature, then the login fails before any Ok', () => {
    const forged = Buffer.from(saslFinal);
    // One base64 character of the signature changed: still valid base64, a different signature.
    forged[forged.length - 5] = forged[forged.length - 5] === 0x41 ? 0x42 : 0x41;
    assertRefused(run([sasl, saslContinue, forged, ok]), /signature|base64/);
  });

  it('given SASLContinue or SASLFinal out of order, then the login fails', () => {
    assertRefused(run([saslContinue]), /SASLContinue out of order/);
    assertRefused(run([sasl, saslFinal]), /SASLFinal out of order/);
    const twice = run([sasl, saslContinue, saslFinal, ok, ok]);
    assert.equal(twice.error?.code, 'AG_ERR_UPSTREAM_AUTH_FAILED');
    assert.match(twice.error?.cause?.message ?? '', /after authentication completed/);
  });

  it('given an md5 request, then no password is sent unless the connection allows md5', () => {
    const refused = run([MD5]);
    assertRefused(refused, /md5 authentication, which the connection does not allow/);
    assert.deepEqual(refused.replies, []);
    const allowed = run([MD5, ok], ['scram-sha-256', 'md5']);
    assert.deepEqual(allowed.state, { step: 'authenticated', method: 'md5' });
    const salt = MD5.subarray(9, 13);
    assert.deepEqual(allowed.replies, [serialize.password(md5PasswordHash('scramuser', PASSWORD, salt))]);
  });

  it('given a cleartext request, then the password is sent only when the connection allows password', () => {
    const refused = run([CLEARTEXT], ['scram-sha-256', 'md5']);
    assertRefused(refused, /password authentication, which the connection does not allow/);
    assert.deepEqual(refused.replies, []);
    const allowed = run([CLEARTEXT, ok], ['password']);
    assert.deepEqual(allowed.replies, [serialize.password(PASSWORD)]);
    assert.equal(isAuthenticated(allowed.state), true);
  });

  it('given AuthenticationOk with no authentication (trust), then it is accepted only when the connection allows trust', () => {
    assertRefused(run([ok]), /without authentication \(trust\)/);
    assertRefused(run([ok], ['scram-sha-256', 'md5', 'password']), /trust/);
    assert.deepEqual(run([ok], ['trust']).state, { step: 'authenticated', method: 'trust' });
  });

  it('given a downgrade to md5 or cleartext in the middle of SCRAM, then the login fails even where md5 is allowed', () => {
    const result = run([sasl, MD5], ['scram-sha-256', 'md5']);
    assertRefused(result, /md5 in the middle of authentication/);
    assert.equal(result.replies.length, 1, 'only the SASLInitialResponse was sent');
    assertRefused(run([sasl, saslContinue, CLEARTEXT], ['scram-sha-256', 'password']), /password in the middle/);
  });

  it('given SCRAM not allowed or no SCRAM-SHA-256 offered, then the login fails', () => {
    assertRefused(run([sasl], ['md5']), /SCRAM-SHA-256, which the connection does not allow/);
    const plusOnly = authFrame(10, Buffer.from('SCRAM-SHA-256-PLUS\0\0'));
    assertRefused(run([plusOnly]), /no supported SASL mechanism/);
    assertRefused(run([authFrame(7)]), /unsupported authentication request 7/);
  });
});
