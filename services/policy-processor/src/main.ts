import { createEventSerde, topicNames } from '@agentgate/events';
import { createKafka } from '@agentgate/kafka';
import { minimalPolicy } from '@agentgate/policy';
import { createSqlParserPool, parserPoolMetrics } from '@agentgate/sql';
import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { createPolicyProcessor } from './app.js';

await runService({
  name: 'policy-processor',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const topics = topicNames(config.topicPrefix);
    const policy = minimalPolicy();
    const parser = await createSqlParserPool({ workers: 1 });
    const processor = createPolicyProcessor({
      config,
      topics,
      policy,
      // The instance is named in logs and metrics; verdicts name only the service.
      logger: logger.child({ instance: config.instanceId }),
      serde: await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.ingress, topics.verdicts] }),
      kafka: createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger }),
      parser,
      nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
    });
    await processor.start();
    return {
      ...processor,
      metrics: () => processor.metrics() + parserPoolMetrics(parser.stats()),
      async stop() {
        await processor.stop();
        await parser.close();
      },
      describe: () => ({ policyVersion: policy.version, instance: config.instanceId }),
    };
  },
});
