// The checkpointer when Kafka cannot be reached: a checkpoint is refused with a code (and
// counted as skipped), never signed on what little was read, and the process goes on.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { topicNames, type EventSerde } from '@agentgate/events';
import { isGatewayError } from '@agentgate/errors';
import { createKafka } from '@agentgate/kafka';
import { createCheckpointer } from './app.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const noSerde: EventSerde = {
  encode: () => Promise.reject(new Error('not expected')),
  decode: () => Promise.reject(new Error('not expected')),
  decodeSkimmed: () => Promise.reject(new Error('not expected')),
  schemaId: () => 1,
};

test('with Kafka unreachable, a checkpoint fails with AG_ERR_AUDIT_UNAVAILABLE and the next one is tried again', async () => {
  const logger = pino({ level: 'silent' });
  const checkpointer = createCheckpointer({
    options: {
      checkpointerId: 'primary',
      signingKey: generateKeyPairSync('ed25519').privateKey,
      serviceName: 'checkpointer',
      instanceId: 'test',
      consumerGroupPrefix: 'agentgate-checkpointer',
      catchUpTimeoutMs: 2000,
      maxHeadsPerCheckpoint: 10,
      fetchMinBytes: 1,
      fetchMaxWaitMs: 100,
    },
    kafka: createKafka({ brokers: [`127.0.0.1:${await closedPort()}`], clientId: 'test', retry: 'fast', connectionTimeoutMs: 200, logger }),
    serde: noSerde,
    topics: topicNames('unit'),
    logger,
    nowUs: () => 1_795_000_000_000_000,
  });
  for (let tick = 0; tick < 2; tick++) {
    await assert.rejects(checkpointer.checkpoint(), (err: unknown) => isGatewayError(err, 'AG_ERR_AUDIT_UNAVAILABLE'));
  }
  assert.match(checkpointer.metrics(), /agentgate_checkpoint_skipped_total 2\n/);
  assert.match(checkpointer.metrics(), /agentgate_checkpoints_signed_total 0\n/);
  assert.deepEqual(checkpointer.readiness(), { consumerJoined: false, rebuilt: false, producerConnected: false });
  await checkpointer.stop();
});
