import { createEventSerde, topicNames } from '@agentgate/events';
import { createKafka } from '@agentgate/kafka';
import { minimalPolicy } from '@agentgate/policy';
import { loadSqlParser } from '@agentgate/sql';
import { createLogger, startAdminServer } from '@agentgate/observability';
import { toGatewayError } from '@agentgate/errors';
import { loadConfig } from './config.js';
import { createPolicyProcessor } from './app.js';

const config = (() => {
  try {
    return loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`policy-processor: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();
const logger = createLogger({ service: config.serviceName, level: config.logLevel });

try {
  const topics = topicNames(config.topicPrefix);
  const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.ingress, topics.verdicts] });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.serviceName, logger });
  const processor = createPolicyProcessor({
    config, kafka, serde, topics, logger,
    parser: await loadSqlParser(),
    policy: minimalPolicy(),
    nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  });
  await processor.start();
  const admin = await startAdminServer({ port: config.adminPort, readiness: processor.readiness, metrics: processor.metrics });
  logger.info({ adminPort: admin.port, policyVersion: minimalPolicy().version }, 'policy processor started');
  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await processor.stop();
    await admin.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (err) {
  const e = toGatewayError(err);
  logger.fatal({ code: e.code, err: e.message }, 'policy processor failed to start');
  process.exit(1);
}
