import { createPrivateKey, type KeyObject } from 'node:crypto';
import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';
import type { CheckpointerOptions } from './app.js';

export interface CheckpointerConfig extends PipelineConfig {
  /** Names this checkpointer's own chain (checkpoint/<id>) and goes into every checkpoint it signs. */
  checkpointerId: string;
  /** The Ed25519 signing key (from a PKCS#8 PEM file). A KeyObject never serialises its secret into logs or JSON. */
  signingKey: KeyObject;
  /** Where the public key list is written at start; undefined = not written. */
  publicKeyFile: string | undefined;
  intervalMs: number;
  /** How long a checkpoint waits to read what was in Kafka when it started; past it, the checkpoint is skipped. */
  catchUpTimeoutMs: number;
  /** Heads per checkpoint event at most (a Kafka record must stay under the broker's size limit). */
  maxHeadsPerCheckpoint: number;
  /** Prefix of this service's consumer groups: each start reads the log in a group of its own under it. */
  consumerGroupPrefix: string;
  /** A fetch from Kafka returns once it holds this many bytes or waited fetchMaxWaitMs. */
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<CheckpointerConfig> {
  const r = new EnvReader(env);
  const pipeline = readPipelineConfig(r, {
    serviceName: 'checkpointer',
    adminPortVar: 'AG_CHECKPOINTER_ADMIN_PORT',
    adminPort: 15485,
    processId,
  });
  const pem = r.fileText('AG_CHECKPOINT_KEY_FILE', { required: true });
  const signingKey = pem === '' ? undefined : parseSigningKey(pem, r);
  const publicKeyFile = r.string('AG_CHECKPOINT_PUBLIC_KEY_FILE', '');
  const checkpointerId = r.string('AG_CHECKPOINT_ID', 'primary');
  // The id is part of a chain id and of signed text; keep it to characters no tool mangles.
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(checkpointerId)) r.problem('AG_CHECKPOINT_ID must be 1-64 of A-Z a-z 0-9 . _ -');
  return r.done({
    ...pipeline,
    checkpointerId,
    // done() throws before this placeholder could be used when the key is missing.
    signingKey: signingKey as KeyObject,
    publicKeyFile: publicKeyFile === '' ? undefined : publicKeyFile,
    intervalMs: r.int('AG_CHECKPOINT_INTERVAL_MS', 60_000, { min: 100, max: 86_400_000 }),
    catchUpTimeoutMs: r.int('AG_CHECKPOINT_CATCH_UP_MS', 10_000, { min: 100, max: 600_000 }),
    maxHeadsPerCheckpoint: r.int('AG_CHECKPOINT_MAX_HEADS', 1000, { min: 1, max: 100_000 }),
    consumerGroupPrefix: r.string('AG_CHECKPOINTER_CONSUMER_GROUP', 'agentgate-checkpointer'),
    fetchMinBytes: r.int('AG_CHECKPOINTER_FETCH_MIN_BYTES', 256 * 1024, { min: 1, max: 64 * 1024 * 1024 }),
    fetchMaxWaitMs: r.int('AG_CHECKPOINTER_FETCH_MAX_WAIT_MS', 500, { min: 1, max: 10_000 }),
  });
}

function parseSigningKey(pem: string, r: EnvReader): KeyObject | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    r.problem('AG_CHECKPOINT_KEY_FILE is not a PEM private key');
    return undefined;
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    r.problem(`AG_CHECKPOINT_KEY_FILE must hold an Ed25519 key, not ${key.asymmetricKeyType ?? 'an unknown type'}`);
    return undefined;
  }
  return key;
}

/** What the checkpointer itself takes from the configuration (main.ts and the int test build it alike). */
export function checkpointerOptions(config: Readonly<CheckpointerConfig>): CheckpointerOptions {
  return {
    checkpointerId: config.checkpointerId,
    signingKey: config.signingKey,
    serviceName: config.serviceName,
    instanceId: config.instanceId,
    consumerGroupPrefix: config.consumerGroupPrefix,
    catchUpTimeoutMs: config.catchUpTimeoutMs,
    maxHeadsPerCheckpoint: config.maxHeadsPerCheckpoint,
    fetchMinBytes: config.fetchMinBytes,
    fetchMaxWaitMs: config.fetchMaxWaitMs,
  };
}
