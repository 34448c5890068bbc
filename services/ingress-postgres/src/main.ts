import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { createEventSerde, topicNames } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { createSqlParserPool, parserPoolMetrics } from '@agentgate/sql';
import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { loadConnectionCatalog } from './connections.js';
import { statementDigester } from './statement-digest.js';
import { kafkaAuditSink, kafkaControlFeed, kafkaVerdictFeed, loadMaskingKeys, MaskingPlans } from '@agentgate/ingress-core';
import { connectStages, statementStages } from './stage-metrics.js';
import { createIngressServer } from './app.js';

const env = Object.freeze({ ...process.env });

await runService({
  name: 'ingress-postgres',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
    const catalog = loadConnectionCatalog(config.connectionsFile, env);
    // Read once at start like every credential: a key that cannot be read fails the start.
    const maskingKeys = loadMaskingKeys(config.connectionsFile, env);
    const maskingPlans = new MaskingPlans(maskingKeys);
    const statementDigest = statementDigester(maskingKeys);
    const identity = createTokenVerifier(loadTrustFile(config.identityFile));
    const tls =
      config.tlsCertFile && config.tlsKeyFile
        ? createSecureContext({ cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile), minVersion: 'TLSv1.2' })
        : undefined;
    const topics = topicNames(config.topicPrefix);
    const serde = await createEventSerde({
      registryUrl: config.registryUrl,
      topics: [topics.ingress, topics.verdicts, topics.control, topics.approvals],
    });
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      auth: config.kafkaAuth,
      clientId: config.serviceName,
      logger,
      retry: 'fast',
      requestTimeoutMs: config.auditWriteTimeoutMs,
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      [topics.ingress, topics.verdicts, topics.control].map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
    ).finally(() => admin.disconnect());
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const verdicts = kafkaVerdictFeed({
      kafka,
      serde,
      topic: topics.verdicts,
      groupId: config.verdictGroup,
      trustedProducers: new Set(config.verdictProducers),
      logger,
      fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
      instance: config.instanceId,
    });
    await verdicts.start();
    const parser = await createSqlParserPool({ workers: config.sqlParserWorkers });
    const sink = kafkaAuditSink(producer, serde, config.instanceId);
    const server = createIngressServer({
      config,
      catalog,
      maskingPlans,
      statementDigest,
      env,
      logger,
      verdicts,
      identity,
      tls,
      sink,
      ingressTopic: topics.ingress,
      approvalsTopic: topics.approvals,
      parser,
      newId: randomUUID,
      nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
    });
    const control = kafkaControlFeed({
      kafka,
      serde,
      logger,
      topic: topics.control,
      groupId: config.controlGroup,
      onKill: (command) => {
        const { targetSessionId, requestedBy, reason } = command.payload;
        if (server.kill(targetSessionId, `session ended by ${requestedBy}: ${reason}`)) {
          logger.info({ sessionId: targetSessionId, requestedBy }, 'session killed on request');
        }
      },
    });
    await control.start();
    const port = await server.listen(config.listenHost, config.listenPort);
    return {
      readiness: () => ({ verdictFeed: verdicts.ready, controlFeed: control.ready }),
      metrics: () =>
        server.metrics() +
        verdicts.metrics() +
        sink.metrics() +
        statementStages.render() +
        connectStages.render() +
        parserPoolMetrics(parser.stats()),
      describe: () => ({ host: config.listenHost, port, tls: tls !== undefined, connections: catalog.names() }),
      async stop() {
        await server.close();
        await control.stop();
        await verdicts.stop();
        await producer.disconnect().catch(() => {});
        await parser.close();
      },
    };
  },
});
