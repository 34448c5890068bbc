import { readFile } from 'node:fs/promises';
import { parseTrustedKeys } from '@agentgate/audit-verify';
import { createClickHouse } from '@agentgate/clickhouse';
import { GatewayError } from '@agentgate/errors';
import { auditActor, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { runService } from '@agentgate/observability';
import { buildAuditApp } from './app.js';
import { loadConfig } from './config.js';

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
      readiness: () => ({ listening: app.server.listening, clickhouse: reachable }),
      metrics: () =>
        `# TYPE agentgate_audit_api_queries_total counter\nagentgate_audit_api_queries_total ${queries}\n` +
        `# TYPE agentgate_audit_api_query_failures_total counter\nagentgate_audit_api_query_failures_total ${failures}\n`,
      describe: () => ({ port: config.listenPort, database: config.clickhouseDatabase, group: config.auditorGroup }),
      async stop() {
        clearInterval(pinger);
        await app.close();
        await clickhouse.close();
      },
    };
  },
});
