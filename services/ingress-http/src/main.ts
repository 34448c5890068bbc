import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { auditActor, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { loadMaskingKeys, MaskingPlans, resolveCredential, startIngressPipeline } from '@agentgate/ingress-core';
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
    const pipeline = await startIngressPipeline(config, logger);
    const { topics, sink, verdicts } = pipeline;
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
        await pipeline.stop();
      },
    };
  },
});
