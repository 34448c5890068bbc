import { randomUUID } from 'node:crypto';
import { createEventSerde, topicNames } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { loadSqlParser } from '@agentgate/sql';
import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { loadConnectionCatalog } from './connections.js';
import { kafkaAuditSink } from './audit-log.js';
import { kafkaVerdictFeed } from './verdict-feed.js';
import { createIngressServer } from './app.js';

const env = Object.freeze({ ...process.env });

await runService({
  name: 'ingress-postgres',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
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
    return {
      readiness: () => ({ verdictFeed: verdicts.ready }),
      metrics: server.metrics,
      describe: () => ({ host: config.listenHost, port, connections: catalog.names() }),
      async stop() {
        await server.close();
        await verdicts.stop();
        await producer.disconnect().catch(() => {});
      },
    };
  },
});
