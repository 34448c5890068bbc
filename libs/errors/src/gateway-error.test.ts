import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError, isGatewayError, toGatewayError, ERROR_CODES } from './index.js';

test('every code is AG_ERR_ prefixed', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^AG_ERR_[A-Z_]+$/);
});

test('GatewayError carries code, retriable and cause', () => {
  const cause = new Error('socket closed');
  const err = new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', undefined, { cause });
  assert.equal(err.code, 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.equal(err.retriable, true);
  assert.equal(err.cause, cause);
  assert.ok(isGatewayError(err, 'AG_ERR_AUDIT_UNAVAILABLE'));
  assert.ok(!isGatewayError(err, 'AG_ERR_POLICY_DENIED'));
});

test('toGatewayError keeps codes and wraps the rest', () => {
  const denied = new GatewayError('AG_ERR_POLICY_DENIED');
  assert.equal(toGatewayError(denied), denied);
  assert.equal(toGatewayError(new Error('x')).code, 'AG_ERR_INTERNAL');
  assert.equal(toGatewayError('x', 'AG_ERR_UPSTREAM_UNAVAILABLE').code, 'AG_ERR_UPSTREAM_UNAVAILABLE');
});
