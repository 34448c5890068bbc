import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delegationClaims, parseTokenRequestExtras } from './token-request.js';

test('no extras: the client is the subject and there is no actor', () => {
  assert.deepEqual(parseTokenRequestExtras({ grant_type: 'client_credentials' }), { ok: true, extras: {} });
  assert.deepEqual(delegationClaims('demo-agent', {}), { sub: 'demo-agent' });
});

test('on_behalf_of makes the principal the subject and the client the current actor', () => {
  const parsed = parseTokenRequestExtras({ on_behalf_of: 'dave' });
  assert.ok(parsed.ok);
  assert.deepEqual(delegationClaims('demo-agent', parsed.extras), { sub: 'dave', act: { sub: 'demo-agent' } });
});

test('via nests the earlier actor inside the current one (RFC 8693 4.1)', () => {
  const parsed = parseTokenRequestExtras({ on_behalf_of: 'dave', via: 'planner' });
  assert.ok(parsed.ok);
  assert.deepEqual(delegationClaims('demo-agent', parsed.extras), { sub: 'dave', act: { sub: 'demo-agent', act: { sub: 'planner' } } });
});

test('ttl is accepted within [1, 86400] seconds only', () => {
  assert.deepEqual(parseTokenRequestExtras({ ttl: '1' }), { ok: true, extras: { ttlSec: 1 } });
  assert.deepEqual(parseTokenRequestExtras({ ttl: '86400' }), { ok: true, extras: { ttlSec: 86400 } });
  for (const bad of ['0', '86401', '-5', '1.5', '1e3', ' 60', 'abc', '']) {
    assert.equal(parseTokenRequestExtras({ ttl: bad }).ok, false, `ttl=${JSON.stringify(bad)}`);
  }
});

test('malformed or contradictory extras are refused', () => {
  for (const body of [
    { via: 'planner' },
    { on_behalf_of: ['dave', 'erin'] },
    { on_behalf_of: '' },
    { on_behalf_of: 'da ve' },
    { on_behalf_of: 'x'.repeat(129) },
    { ttl: ['60', '61'] },
  ]) {
    assert.equal(parseTokenRequestExtras(body).ok, false, JSON.stringify(body));
  }
});
