import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { createSqlParserPool, parserPoolMetrics } from '@agentgate/sql';
import { runService } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { loadConnectionCatalog } from './connections.js';
import { statementDigester } from './statement-digest.js';
import { loadMaskingKeys, MaskingPlans, startIngressPipeline } from '@agentgate/ingress-core';
import { connectStages, maskingTime, statementStages } from './stage-metrics.js';
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
    const pipeline = await startIngressPipeline({ ...config, verdictReader: 'postgres' }, logger, (t) => ({
      ensured: [t.control],
      serdeOnly: [t.approvals],
    }));
    const { topics, sink, verdicts } = pipeline;
    const parser = await createSqlParserPool({ workers: config.sqlParserWorkers });
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
    const control = await pipeline.startControlFeed(config.controlGroup, (sessionId, message) => server.kill(sessionId, message));
    const port = await server.listen(config.listenHost, config.listenPort);
    return {
      readiness: () => ({ verdictFeed: verdicts.ready, controlFeed: control.ready }),
      metrics: () =>
        server.metrics() +
        verdicts.metrics() +
        sink.metrics() +
        statementStages.render() +
        connectStages.render() +
        maskingTime.render() +
        parserPoolMetrics(parser.stats()),
      describe: () => ({ host: config.listenHost, port, tls: tls !== undefined, connections: catalog.names() }),
      async stop() {
        await server.close();
        await pipeline.stop();
        await parser.close();
      },
    };
  },
});
