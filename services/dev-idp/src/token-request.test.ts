import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenRequestExtras } from './token-request.js';

test('no extras: nothing to apply', () => {
  assert.deepEqual(parseTokenRequestExtras({ grant_type: 'client_credentials' }), { ok: true, extras: {} });
});

test('ttl is accepted within [1, 86400] seconds only', () => {
  assert.deepEqual(parseTokenRequestExtras({ ttl: '1' }), { ok: true, extras: { ttlSec: 1 } });
  assert.deepEqual(parseTokenRequestExtras({ ttl: '86400' }), { ok: true, extras: { ttlSec: 86400 } });
  for (const bad of ['0', '86401', '-5', '1.5', '1e3', ' 60', 'abc', '']) {
    assert.equal(parseTokenRequestExtras({ ttl: bad }).ok, false, `ttl=${JSON.stringify(bad)}`);
  }
  assert.equal(parseTokenRequestExtras({ ttl: ['60', '61'] }).ok, false);
});

test('the retired on_behalf_of and via are refused, whatever their value', () => {
  for (const body of [
    { on_behalf_of: 'dave' },
    { on_behalf_of: 'dave', via: 'planner' },
    { via: 'planner' },
    { on_behalf_of: ['dave', 'erin'] },
    { on_behalf_of: '' },
    { ttl: '60', on_behalf_of: 'dba-agent' },
  ]) {
    const result = parseTokenRequestExtras(body);
    assert.equal(result.ok, false, JSON.stringify(body));
    assert.match(result.ok ? '' : result.description, /token-exchange/);
  }
});
