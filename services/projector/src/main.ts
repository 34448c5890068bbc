import { createEventSerde, createPolicySerde, auditTopics, topicNames } from '@agentgate/events';
import { createKafka } from '@agentgate/kafka';
import { createClickHouse } from '@agentgate/clickhouse';
import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { createProjector } from './app.js';

await runService({
  name: 'projector',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const topics = topicNames(config.topicPrefix);
    const projector = createProjector({
      config,
      topics,
      logger,
      serde: await createEventSerde({ registryUrl: config.registryUrl, topics: auditTopics(topics) }),
      policySerde: await createPolicySerde({ registryUrl: config.registryUrl, topic: topics.policies }),
      kafka: createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger }),
      // Every statement names its database, so the client can connect before the database exists.
      clickhouse: createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth }),
      nowMs: () => Date.now(),
    });
    await projector.start();
    return projector;
  },
});
