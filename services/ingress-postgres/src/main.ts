import { randomUUID } from 'node:crypto';
import { createEventSerde, topicNames } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { loadSqlParser } from '@agentgate/sql';
import { createLogger, startAdminServer } from '@agentgate/observability';
import { toGatewayError } from '@agentgate/errors';
import { loadConfig } from './config.js';
import { loadConnectionCatalog } from './connections.js';
import { kafkaAuditSink } from './audit-log.js';
import { kafkaVerdictFeed } from './verdict-feed.js';
import { createIngressServer } from './app.js';

const config = (() => {
  try {
    return loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`ingress-postgres: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();
const logger = createLogger({ service: config.serviceName, level: config.logLevel });
const env = Object.freeze({ ...process.env });

try {
  const catalog = loadConnectionCatalog(config.connectionsFile, env);
  const topics = topicNames(config.topicPrefix);
  const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.ingress, topics.verdicts] });
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: config.serviceName, logger, retry: 'fast', requestTimeoutMs: config.auditWriteTimeoutMs });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: topics.ingress, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
    { topic: topics.verdicts, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
  ]).finally(() => admin.disconnect());
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const verdicts = kafkaVerdictFeed({ kafka, serde, topic: topics.verdicts, groupId: config.verdictGroup, logger });
  await verdicts.start();
  const server = createIngressServer({
    config, catalog, env, logger, verdicts,
    sink: kafkaAuditSink(producer, serde),
    ingressTopic: topics.ingress,
    parser: await loadSqlParser(),
    newId: randomUUID,
    nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  });
  const port = await server.listen(config.listenHost, config.listenPort);
  const adminServer = await startAdminServer({
    port: config.adminPort,
    readiness: () => ({ verdictFeed: verdicts.ready }),
    metrics: server.metrics,
  });
  logger.info({ host: config.listenHost, port, adminPort: adminServer.port, connections: catalog.names() }, 'PostgreSQL ingress listening');
  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await server.close();
    await verdicts.stop();
    await producer.disconnect().catch(() => {});
    await adminServer.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (err) {
  const e = toGatewayError(err);
  logger.fatal({ code: e.code, err: e.message }, 'PostgreSQL ingress failed to start');
  process.exit(1);
}
