import { createEventSerde, createPolicySerde, topicNames, verdictTopics } from '@agentgate/events';
import { createKafka } from '@agentgate/kafka';
import { createSqlParserPool, parserPoolMetrics } from '@agentgate/sql';
import { createShellAnalyserPool, shellAnalyserPoolMetrics } from '@agentgate/shell';
import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { createPolicyProcessor } from './app.js';
import { policyEngine } from './policy-engine.js';

await runService({
  name: 'policy-processor',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const topics = topicNames(config.topicPrefix);
    // The processor decides on facts only, so statements of a known shape need no parse.
    const parser = await createSqlParserPool({ workers: 1, maxShapeEntries: 10_000 });
    const shell = await createShellAnalyserPool({ workers: config.shellAnalyserWorkers, timeoutMs: config.shellAnalyserTimeoutMs });
    const processor = createPolicyProcessor({
      config,
      topics,
      // No payload in the log: the request's ids are in the verdict it gets.
      engine: policyEngine((err) =>
        logger.error({ code: 'AG_ERR_INTERNAL', err: (err as Error).message }, 'policy evaluation failed; request denied'),
      ),
      policySerde: await createPolicySerde({ registryUrl: config.registryUrl, topic: topics.policies }),
      // The instance is named in logs and metrics; verdicts name only the service.
      logger: logger.child({ instance: config.instanceId }),
      serde: await createEventSerde({
        registryUrl: config.registryUrl,
        topics: [topics.ingress, ...verdictTopics(topics), topics.shadowVerdicts, topics.approvals, topics.approvalDecisions],
      }),
      kafka: createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger }),
      parser,
      shell,
      nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
    });
    await processor.start();
    return {
      ...processor,
      metrics: () => processor.metrics() + parserPoolMetrics(parser.stats()) + shellAnalyserPoolMetrics(shell.stats()),
      async stop() {
        await processor.stop();
        await parser.close();
        await shell.close();
      },
      describe: () => ({ ...processor.describe(), instance: config.instanceId }),
    };
  },
});
