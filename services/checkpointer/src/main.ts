// Runs the checkpointer on the shared service shell (config parsed once, exit 2 naming every
// problem, a missing or non-Ed25519 key among them): the log read from the beginning, a
// checkpoint every interval, and POST /checkpoint on the admin port to sign one now.
import { chainedTopics, createEventSerde, topicNames } from '@agentgate/events';
import { toGatewayError } from '@agentgate/errors';
import { createKafka } from '@agentgate/kafka';
import { runService } from '@agentgate/observability';
import { createCheckpointer } from './app.js';
import { checkpointerOptions, loadConfig } from './config.js';
import { publicKeyList, writePublicKeyFile } from './public-key.js';

const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

await runService({
  name: 'checkpointer',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const topics = topicNames(config.topicPrefix);
    const keys = publicKeyList(config.signingKey, `checkpointer ${config.checkpointerId} (${config.instanceId})`);
    if (config.publicKeyFile !== undefined) writePublicKeyFile(config.publicKeyFile, keys);
    const checkpointer = createCheckpointer({
      options: checkpointerOptions(config),
      kafka: createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger }),
      serde: await createEventSerde({ registryUrl: config.registryUrl, topics: [...chainedTopics(topics), topics.checkpoints] }),
      topics,
      logger,
      nowUs,
    });
    await checkpointer.start();
    // A failed tick (Kafka down, not caught up) is logged and the next tick tries again.
    const timer = setInterval(() => {
      checkpointer.checkpoint().catch((err: unknown) => {
        const e = toGatewayError(err);
        logger.error({ code: e.code, err: e.message }, 'checkpoint failed; retried next interval');
      });
    }, config.intervalMs);
    return {
      readiness: () => checkpointer.readiness(),
      metrics: () => checkpointer.metrics(),
      actions: { checkpoint: () => checkpointer.checkpoint() },
      describe: () => ({ checkpointerId: config.checkpointerId, keyId: checkpointer.keyId, intervalMs: config.intervalMs }),
      async stop() {
        clearInterval(timer);
        await checkpointer.stop();
      },
    };
  },
});
