import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGatewayError } from '@agentgate/errors';
import { loadConfig } from './config.js';

const BASE = {};

test('defaults: the log is read in batches (off the statements path), not a fetch per event', () => {
  const config = loadConfig(BASE, 1);
  assert.equal(config.fetchMinBytes, 256 * 1024);
  assert.equal(config.fetchMaxWaitMs, 250);
  assert.equal(config.batchMaxMs, 1000);
  assert.ok(Object.isFrozen(config));
});

test('fetch settings are read and checked', () => {
  const config = loadConfig({ ...BASE, AG_PROJECTOR_FETCH_MIN_BYTES: '1', AG_PROJECTOR_FETCH_MAX_WAIT_MS: '200' }, 1);
  assert.equal(config.fetchMinBytes, 1);
  assert.equal(config.fetchMaxWaitMs, 200);
  for (const bad of [
    { AG_PROJECTOR_FETCH_MIN_BYTES: '0' },
    { AG_PROJECTOR_FETCH_MAX_WAIT_MS: 'soon' },
    { AG_PROJECTOR_FETCH_MAX_WAIT_MS: '60000' },
  ]) {
    assert.throws(
      () => loadConfig({ ...BASE, ...bad }, 1),
      (err: unknown) => isGatewayError(err, 'AG_ERR_CONFIG_INVALID'),
    );
  }
});
