import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGatewayError } from '@agentgate/errors';
import { loadConfig, resolveIssuer } from './config.js';

const required = { AG_DEV_IDP_STATE_DIR: '/tmp/s', AG_DEV_IDP_CLIENTS_FILE: '/tmp/c.json' };

test('defaults', () => {
  const c = loadConfig(required);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 14000);
  assert.equal(c.issuer, 'http://127.0.0.1:14000');
  assert.equal(c.adminPort, 15483);
  assert.equal(c.audience, 'agentgate');
  assert.equal(c.tokenTtlSec, 3600);
  assert.equal(c.serviceName, 'dev-idp');
  assert.ok(Object.isFrozen(c));
});

test('the state dir and the clients file are required, and every problem is named at once', () => {
  assert.throws(
    () => loadConfig({ AG_DEV_IDP_TOKEN_TTL_SEC: '0' }),
    (e: unknown) => {
      assert.ok(isGatewayError(e, 'AG_ERR_CONFIG_INVALID'));
      assert.match(e.message, /AG_DEV_IDP_STATE_DIR/);
      assert.match(e.message, /AG_DEV_IDP_CLIENTS_FILE/);
      assert.match(e.message, /AG_DEV_IDP_TOKEN_TTL_SEC/);
      return true;
    },
  );
});

test('an issuer on port 0 takes the bound port; any other issuer is kept verbatim', () => {
  assert.equal(resolveIssuer('http://127.0.0.1:0', 43210), 'http://127.0.0.1:43210');
  assert.equal(resolveIssuer('http://127.0.0.1:0/idp', 43210), 'http://127.0.0.1:43210/idp');
  assert.equal(resolveIssuer('http://127.0.0.1:14000', 43210), 'http://127.0.0.1:14000');
  assert.equal(resolveIssuer('https://idp.example', 43210), 'https://idp.example');
});
