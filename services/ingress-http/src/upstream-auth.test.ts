import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstreamAuthHeader, withUpstreamAuth } from './upstream-auth.js';

const secrets: Record<string, string> = { 'env:S': 's3cret', 'env:BAD': 'a\r\nX-Evil: 1', 'env:EMPTY': '' };
const resolve = (ref: string): string => {
  const v = secrets[ref];
  if (v === undefined) throw new Error('unknown');
  return v;
};

test('each type puts the resolved secret in its header', () => {
  assert.equal(upstreamAuthHeader({ type: 'none' }, resolve), undefined);
  assert.deepEqual(upstreamAuthHeader({ type: 'bearer', credential: 'env:S' }, resolve), ['authorization', 'Bearer s3cret']);
  assert.deepEqual(upstreamAuthHeader({ type: 'basic', username: 'svc', credential: 'env:S' }, resolve), [
    'authorization',
    `Basic ${Buffer.from('svc:s3cret').toString('base64')}`,
  ]);
  assert.deepEqual(upstreamAuthHeader({ type: 'header', header: 'x-api-key', credential: 'env:S' }, resolve), ['x-api-key', 's3cret']);
});

test("the gateway's credential replaces a header of the same name the agent sent", () => {
  const out = withUpstreamAuth(
    { 'x-api-key': ['agent-own'], accept: ['*/*'] },
    { type: 'header', header: 'x-api-key', credential: 'env:S' },
    resolve,
  );
  assert.deepEqual(out, { 'x-api-key': ['s3cret'], accept: ['*/*'] });
  assert.deepEqual(withUpstreamAuth({ accept: ['*/*'] }, { type: 'none' }, resolve), { accept: ['*/*'] });
});

test('a secret that would inject headers, or is empty, is refused with AG_ERR_CREDENTIAL_UNAVAILABLE', () => {
  for (const credential of ['env:BAD', 'env:EMPTY'])
    assert.throws(() => upstreamAuthHeader({ type: 'bearer', credential }, resolve), { code: 'AG_ERR_CREDENTIAL_UNAVAILABLE' });
});
