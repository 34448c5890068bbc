import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import type { VerifiedIdentity } from './types.js';
import { cachingVerifier } from './verified-cache.js';

function setup(expiresInMs = 3_600_000, maxEntries = 10) {
  let now = 1_000_000;
  const calls: string[] = [];
  const verify = async (token: string): Promise<VerifiedIdentity> => {
    calls.push(token);
    if (token === 'bad') throw new GatewayError('AG_ERR_TOKEN_MALFORMED', 'bad');
    return { subject: token, expiresAt: new Date(now + expiresInMs) } as VerifiedIdentity;
  };
  const cached = cachingVerifier(verify, { maxAgeMs: 30_000, maxEntries, now: () => now });
  return { cached, calls, advance: (ms: number) => (now += ms) };
}

test('a token verified once is not verified again within the age limit', async () => {
  const s = setup();
  assert.equal((await s.cached('a')).subject, 'a');
  assert.equal((await s.cached('a')).subject, 'a');
  assert.deepEqual(s.calls, ['a']);
  s.advance(30_001);
  await s.cached('a');
  assert.deepEqual(s.calls, ['a', 'a'], 'verified again past the age limit');
});

test("never past the token's own expiry", async () => {
  const s = setup(5_000);
  await s.cached('a');
  s.advance(5_000);
  await s.cached('a');
  assert.deepEqual(s.calls, ['a', 'a']);
});

test('a failed verification is never remembered', async () => {
  const s = setup();
  await assert.rejects(s.cached('bad'), { code: 'AG_ERR_TOKEN_MALFORMED' });
  await assert.rejects(s.cached('bad'), { code: 'AG_ERR_TOKEN_MALFORMED' });
  assert.deepEqual(s.calls, ['bad', 'bad']);
});

test('the cache holds at most maxEntries tokens, dropping the oldest', async () => {
  const s = setup(3_600_000, 2);
  await s.cached('a');
  await s.cached('b');
  await s.cached('c');
  await s.cached('b');
  await s.cached('a');
  assert.deepEqual(s.calls, ['a', 'b', 'c', 'a']);
});
