// Runs the checkpointer: config parsed once (exit 2 naming every problem, a missing or
// non-Ed25519 key among them), the log read from the beginning, a checkpoint every interval,
// and the admin port with POST /checkpoint. The shell is runService's (libs/observability),
// with an admin server of our own because the shared one takes no extra routes.
import { chainedTopics, createEventSerde, topicNames } from '@agentgate/events';
import { toGatewayError } from '@agentgate/errors';
import { createKafka } from '@agentgate/kafka';
import { createLogger } from '@agentgate/observability';
import { startAdminHttp } from './admin-http.js';
import { createCheckpointer } from './app.js';
import { loadConfig, type CheckpointerConfig } from './config.js';
import { publicKeyList, writePublicKeyFile } from './public-key.js';

const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

let config: Readonly<CheckpointerConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  process.stderr.write(`checkpointer: ${(err as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger({ service: config.serviceName, level: config.logLevel });

try {
  const topics = topicNames(config.topicPrefix);
  const keys = publicKeyList(config.signingKey, `checkpointer ${config.checkpointerId} (${config.instanceId})`);
  if (config.publicKeyFile !== undefined) writePublicKeyFile(config.publicKeyFile, keys);
  const checkpointer = createCheckpointer({
    options: {
      checkpointerId: config.checkpointerId,
      signingKey: config.signingKey,
      serviceName: config.serviceName,
      instanceId: config.instanceId,
      consumerGroupPrefix: config.consumerGroupPrefix,
      catchUpTimeoutMs: config.catchUpTimeoutMs,
      maxHeadsPerCheckpoint: config.maxHeadsPerCheckpoint,
      fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
    },
    kafka: createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger }),
    serde: await createEventSerde({ registryUrl: config.registryUrl, topics: [...chainedTopics(topics), topics.checkpoints] }),
    topics,
    logger,
    nowUs,
  });
  await checkpointer.start();
  const admin = await startAdminHttp({
    port: config.adminPort,
    readiness: () => checkpointer.readiness(),
    metrics: () => checkpointer.metrics(),
    checkpoint: () => checkpointer.checkpoint(),
    logger,
  });
  // A failed tick (Kafka down, not caught up) is logged and the next tick tries again.
  const timer = setInterval(() => {
    checkpointer.checkpoint().catch((err: unknown) => {
      const e = toGatewayError(err);
      logger.error({ code: e.code, err: e.message }, 'checkpoint failed; retried next interval');
    });
  }, config.intervalMs);
  logger.info(
    { adminPort: admin.port, checkpointerId: config.checkpointerId, keyId: checkpointer.keyId, intervalMs: config.intervalMs },
    'checkpointer started',
  );
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    clearInterval(timer);
    await checkpointer.stop().catch((err: unknown) => logger.error({ code: toGatewayError(err).code }, 'error while stopping'));
    await admin.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (err) {
  const e = toGatewayError(err);
  logger.fatal({ code: e.code, err: e.message }, 'checkpointer failed to start');
  process.exit(1);
}
