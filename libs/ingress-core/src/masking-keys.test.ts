import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { parseMaskingKeys } from './masking-keys.js';

const HEX = 'ab'.repeat(32);
const env = { AG_KEY_NOW: HEX, AG_KEY_OLD: 'cd'.repeat(16) };
const isConfigError = (e: unknown): boolean => e instanceof GatewayError && e.code === 'AG_ERR_CONFIG_INVALID';

test('the key ring is read by reference: current and previous keys, secrets decoded from hex', () => {
  const ring = parseMaskingKeys(
    JSON.stringify({
      connections: [],
      maskingKeys: { current: { id: 'k2', credential: 'env:AG_KEY_NOW' }, previous: [{ id: 'k1', credential: 'env:AG_KEY_OLD' }] },
    }),
    env,
  );
  assert.equal(ring?.current.id, 'k2');
  assert.equal(ring?.current.secret.length, 32);
  assert.equal(ring?.previous?.[0]?.secret.length, 16);
});

test('no maskingKeys: no ring (plans that tokenize are then refused at the ingress)', () => {
  assert.equal(parseMaskingKeys('{"connections": []}', env), undefined);
});

test('inline secrets, short or non-hex secrets and duplicate ids are configuration errors', () => {
  const bad = [
    { current: { id: 'k', secret: HEX } },
    { current: { id: 'k', credential: 'env:AG_KEY_SHORT' } },
    { current: { id: 'k', credential: 'env:AG_KEY_TEXT' } },
    { current: { id: 'k', credential: 'env:AG_KEY_NOW' }, previous: [{ id: 'k', credential: 'env:AG_KEY_OLD' }] },
    { current: { id: 'bad id!', credential: 'env:AG_KEY_NOW' } },
  ];
  for (const maskingKeys of bad) {
    assert.throws(
      () => parseMaskingKeys(JSON.stringify({ maskingKeys }), { ...env, AG_KEY_SHORT: 'abcd', AG_KEY_TEXT: 'not hex at all, no' }),
      isConfigError,
      JSON.stringify(maskingKeys),
    );
  }
});
