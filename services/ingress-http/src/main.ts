import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createEventSerde, topicNames } from '@agentgate/events';
import { auditActor, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { kafkaAuditSink, kafkaVerdictFeed, loadMaskingKeys, MaskingPlans, resolveCredential } from '@agentgate/ingress-core';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { runService } from '@agentgate/observability';
import { createHttpIngress } from './app.js';
import { loadConfig } from './config.js';
import { loadHttpCatalog } from './connections.js';
import { pipelineAudit } from './exchange-audit.js';

const env = Object.freeze({ ...process.env });

await runService({
  name: 'ingress-http',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
    const catalog = loadHttpCatalog(config.connectionsFile, env);
    const maskingPlans = new MaskingPlans(loadMaskingKeys(config.connectionsFile, env));
    const verifier = createTokenVerifier(loadTrustFile(config.identityFile));
    const tls = { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) };
    const topics = topicNames(config.topicPrefix);
    const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.ingress, topics.verdicts] });
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
      [topics.ingress, topics.verdicts].map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
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
    const sink = kafkaAuditSink(producer, serde, config.instanceId);
    const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
    const server = createHttpIngress({
      config,
      catalog,
      tls,
      verifyToken: async (token) => auditActor(await verifier.verify(token)),
      startAudit: pipelineAudit({
        sink,
        topic: topics.ingress,
        verdicts,
        producer: config.instanceId,
        newId: randomUUID,
        nowUs,
        auditWriteTimeoutMs: config.auditWriteTimeoutMs,
        verdictTimeoutMs: config.verdictTimeoutMs,
        approvalWaitMs: config.approvalWaitMs,
      }),
      maskingPlans,
      resolveCredential: (reference) => resolveCredential(reference, env),
      logger,
      newId: randomUUID,
    });
    const port = await server.listen(config.listenHost, config.listenPort);
    return {
      readiness: () => ({ verdictFeed: verdicts.ready }),
      metrics: () => server.metrics() + verdicts.metrics() + sink.metrics(),
      describe: () => ({ host: config.listenHost, port, connections: catalog.names() }),
      async stop() {
        await server.close();
        await verdicts.stop();
        await producer.disconnect().catch(() => {});
      },
    };
  },
});
