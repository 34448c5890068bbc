import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGatewayError } from '@agentgate/errors';
import { loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'checkpointer-config-'));
const pemFile = (name: string, pem: string): string => {
  const path = join(dir, name);
  writeFileSync(path, pem);
  return path;
};
const ed25519 = pemFile('ed25519.pem', generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const p256 = pemFile(
  'p256.pem',
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
);
const garbage = pemFile('garbage.pem', 'not a key\n');

const invalid = (env: Record<string, string>): void => {
  assert.throws(
    () => loadConfig(env, 1),
    (err: unknown) => isGatewayError(err, 'AG_ERR_CONFIG_INVALID'),
  );
};

test('defaults with an Ed25519 key', () => {
  const config = loadConfig({ AG_CHECKPOINT_KEY_FILE: ed25519 }, 1);
  assert.equal(config.signingKey.asymmetricKeyType, 'ed25519');
  assert.equal(config.checkpointerId, 'primary');
  assert.equal(config.intervalMs, 60_000);
  assert.equal(config.adminPort, 15485);
  assert.equal(config.serviceName, 'checkpointer');
  assert.equal(config.publicKeyFile, undefined);
  assert.equal(config.consumerGroupPrefix, 'agentgate-checkpointer');
  // Off the statements' path: the log is read in batches, not a fetch per event.
  assert.equal(config.fetchMinBytes, 256 * 1024);
  assert.equal(config.fetchMaxWaitMs, 500);
  assert.ok(Object.isFrozen(config));
  // The secret never reaches a log line that prints the config.
  assert.ok(!JSON.stringify(config).includes('PRIVATE'));
});

test('the key must be given, readable, a PEM private key and Ed25519', () => {
  invalid({});
  invalid({ AG_CHECKPOINT_KEY_FILE: join(dir, 'absent.pem') });
  invalid({ AG_CHECKPOINT_KEY_FILE: garbage });
  invalid({ AG_CHECKPOINT_KEY_FILE: p256 });
});

test('settings are checked', () => {
  invalid({ AG_CHECKPOINT_KEY_FILE: ed25519, AG_CHECKPOINT_INTERVAL_MS: 'soon' });
  invalid({ AG_CHECKPOINT_KEY_FILE: ed25519, AG_CHECKPOINT_ID: 'a/b' });
  invalid({ AG_CHECKPOINT_KEY_FILE: ed25519, AG_CHECKPOINTER_FETCH_MIN_BYTES: '0' });
  invalid({ AG_CHECKPOINT_KEY_FILE: ed25519, AG_CHECKPOINTER_FETCH_MAX_WAIT_MS: '60000' });
  const config = loadConfig(
    {
      AG_CHECKPOINT_KEY_FILE: ed25519,
      AG_CHECKPOINT_ID: 'dr-site',
      AG_CHECKPOINT_INTERVAL_MS: '500',
      AG_CHECKPOINT_PUBLIC_KEY_FILE: '/tmp/k.json',
      AG_CHECKPOINTER_FETCH_MIN_BYTES: '1',
      AG_CHECKPOINTER_FETCH_MAX_WAIT_MS: '100',
    },
    1,
  );
  assert.equal(config.checkpointerId, 'dr-site');
  assert.equal(config.intervalMs, 500);
  assert.equal(config.publicKeyFile, '/tmp/k.json');
  assert.equal(config.fetchMinBytes, 1);
  assert.equal(config.fetchMaxWaitMs, 100);
});
