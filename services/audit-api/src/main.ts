import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseTrustedKeys } from '@agentgate/audit-verify';
import { createClickHouse } from '@agentgate/clickhouse';
import { createEventSerde, topicNames } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { auditActor, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { createKafka } from '@agentgate/kafka';
import { runService } from '@agentgate/observability';
import { buildAuditApp } from './app.js';
import { loadConfig } from './config.js';
import { createGovernancePublisher } from './governance-publisher.js';

const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

await runService({
  name: 'audit-api',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const verifier = createTokenVerifier(loadTrustFile(config.identityFile));
    const clickhouse = createClickHouse({
      url: config.clickhouseUrl,
      database: config.clickhouseDatabase,
      ...config.clickhouseAuth,
      requestTimeoutMs: config.queryTimeoutMs,
      quiet: true,
    });
    // Drops partitions only: a login of its own (`retention`), never the reader's.
    const retentionClickhouse = createClickHouse({
      url: config.clickhouseUrl,
      database: config.clickhouseDatabase,
      ...config.retentionClickhouseAuth,
      requestTimeoutMs: config.queryTimeoutMs,
      quiet: true,
    });
    const topics = topicNames(config.topicPrefix);
    const publisher = createGovernancePublisher({
      kafka: createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger }),
      serde: await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.governance] }),
      topic: topics.governance,
      logger,
    });
    await publisher.start();
    let queries = 0;
    let failures = 0;
    let reachable = false;
    const app = await buildAuditApp({
      verifyToken: async (token) => auditActor(await verifier.verify(token)),
      async query<T>(sql: string): Promise<T[]> {
        queries++;
        try {
          const result = await clickhouse.query({ query: sql, format: 'JSONEachRow' });
          return await result.json<T>();
        } catch (cause) {
          failures++;
          // The server's message may quote the query (search text): it stays out of logs and answers.
          logger.error({ code: 'AG_ERR_AUDIT_UNAVAILABLE' }, 'ClickHouse query failed');
          throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'ClickHouse did not answer the query', { cause });
        }
      },
      database: config.clickhouseDatabase,
      async trustedKeys() {
        let text: string;
        try {
          text = await readFile(config.checkpointKeysFile, 'utf8');
        } catch (cause) {
          throw new GatewayError('AG_ERR_CONFIG_INVALID', `the trusted checkpoint keys cannot be read (${config.checkpointKeysFile})`, {
            cause,
          });
        }
        return parseTrustedKeys(text, config.checkpointKeysFile);
      },
      auditorGroup: config.auditorGroup,
      governance: {
        publish: (event) => publisher.publish(event),
        async dropPartition(sql) {
          try {
            await retentionClickhouse.command({ query: sql });
          } catch (cause) {
            logger.error({ code: 'AG_ERR_AUDIT_UNAVAILABLE' }, 'ClickHouse partition drop failed');
            throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'ClickHouse did not drop the partition', { cause });
          }
        },
        retentionDays: config.retentionDays,
        producer: config.serviceName,
        newId: randomUUID,
        nowUs,
        projectionWaitMs: config.holdProjectionWaitMs,
      },
      logger,
    });
    const ping = async (): Promise<void> => {
      reachable = (await clickhouse.ping().catch(() => ({ success: false }))).success;
    };
    await ping();
    const pinger = setInterval(() => void ping(), 5000);
    pinger.unref();
    await app.listen({ host: config.listenHost, port: config.listenPort });
    return {
      readiness: () => ({ listening: app.server.listening, clickhouse: reachable, kafkaProducer: publisher.connected }),
      metrics: () =>
        `# TYPE agentgate_audit_api_queries_total counter\nagentgate_audit_api_queries_total ${queries}\n` +
        `# TYPE agentgate_audit_api_query_failures_total counter\nagentgate_audit_api_query_failures_total ${failures}\n` +
        publisher.metrics(),
      describe: () => ({
        port: config.listenPort,
        database: config.clickhouseDatabase,
        group: config.auditorGroup,
        governanceTopic: topics.governance,
        retentionDays: config.retentionDays,
      }),
      async stop() {
        clearInterval(pinger);
        await app.close();
        await publisher.stop();
        await clickhouse.close();
        await retentionClickhouse.close();
      },
    };
  },
});
