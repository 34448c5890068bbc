import { createEventSerde, auditTopics, topicNames } from '@agentgate/events';
import { createKafka } from '@agentgate/kafka';
import { createClickHouse } from '@agentgate/clickhouse';
import { createLogger, startAdminServer } from '@agentgate/observability';
import { toGatewayError } from '@agentgate/errors';
import { loadConfig } from './config.js';
import { createProjector } from './app.js';

const config = (() => {
  try {
    return loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`projector: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();
const logger = createLogger({ service: config.serviceName, level: config.logLevel });

try {
  const topics = topicNames(config.topicPrefix);
  const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: auditTopics(topics) });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.serviceName, logger });
  // Every statement names its database, so the client can connect before the database exists.
  const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: 'default' });
  const projector = createProjector({ config, kafka, serde, topics, clickhouse, logger, nowMs: () => Date.now() });
  await projector.start();
  const admin = await startAdminServer({ port: config.adminPort, readiness: projector.readiness, metrics: projector.metrics });
  logger.info({ adminPort: admin.port }, 'projector started');
  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await projector.stop();
    await admin.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (err) {
  const e = toGatewayError(err);
  logger.fatal({ code: e.code, err: e.message }, 'projector failed to start');
  process.exit(1);
}
