import { randomUUID, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createEventSerde, topicNames } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { kafkaAuditSink, kafkaControlFeed, kafkaVerdictFeed, loadMaskingKeys, MaskingPlans } from '@agentgate/ingress-core';
import { runService } from '@agentgate/observability';
import { fingerprint, publicKeyBlob } from '@agentgate/ssh-cert';
import { createSshIngress } from './app.js';
import { createCertApi } from './cert-api.js';
import { loadConfig } from './config.js';
import { loadSshCatalog } from './connections.js';

const env = Object.freeze({ ...process.env });

await runService({
  name: 'ingress-ssh',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
    const catalog = loadSshCatalog(config.connectionsFile, env);
    const maskingPlans = new MaskingPlans(loadMaskingKeys(config.connectionsFile, env));
    const verifier = createTokenVerifier(loadTrustFile(config.identityFile));
    // Read once at start like every credential: a key that cannot be read fails the start.
    const caKey = createPrivateKey(readFileSync(config.caKeyFile));
    const caBlob = publicKeyBlob(createPublicKey(caKey));
    const topics = topicNames(config.topicPrefix);
    const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.ingress, topics.verdicts, topics.control] });
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
    const sink = kafkaAuditSink(producer, serde, config.instanceId);
    const server = createSshIngress({
      config,
      catalog,
      verifier,
      trustedCaKeys: [caBlob],
      sink,
      ingressTopic: topics.ingress,
      verdicts,
      maskingPlans,
      env,
      logger,
      newId: randomUUID,
      nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
      hostKeyFile: config.hostKeyFile,
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
    const certApi = createCertApi({
      ca: caKey,
      verifyToken: (token) => verifier.verify(token),
      connectionsFor: (identity) => catalog.usableBy(identity.groups),
      maxTtlSec: config.maxCertTtlSec,
      now: () => new Date(),
      logger,
    });
    await certApi.listen({ host: config.listenHost, port: config.certApiPort });
    const port = await server.listen(config.listenHost, config.listenPort);
    return {
      readiness: () => ({ verdictFeed: verdicts.ready, controlFeed: control.ready }),
      metrics: () => server.metrics() + verdicts.metrics() + sink.metrics(),
      describe: () => ({ host: config.listenHost, port, caFingerprint: fingerprint(caBlob), connections: catalog.names() }),
      async stop() {
        await server.close();
        await certApi.close();
        await control.stop();
        await verdicts.stop();
        await producer.disconnect().catch(() => {});
      },
    };
  },
});
