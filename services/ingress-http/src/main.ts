import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { auditActor, cachingVerifier, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { GatewayError } from '@agentgate/errors';
import {
  catalogEntries,
  loadMaskingKeys,
  MaskingPlans,
  readCatalogFile,
  resolveCredential,
  startIngressPipeline,
} from '@agentgate/ingress-core';
import { parseMcpCatalog, upstreamClient, upstreamTransport } from '@agentgate/mcp';
import { runService } from '@agentgate/observability';
import { createHttpIngress } from './app.js';
import { timedAudit } from './audit-timing.js';
import { loadConfig } from './config.js';
import { loadHttpCatalog } from './connections.js';
import { pipelineAudit } from './exchange-audit.js';
import { createMcpGateway } from './mcp/mcp-gateway.js';
import { mcpStages } from './stage-metrics.js';

const env = Object.freeze({ ...process.env });

await runService({
  name: 'ingress-http',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
    const catalog = loadHttpCatalog(config.connectionsFile, env);
    const mcpCatalog = parseMcpCatalog(catalogEntries(readCatalogFile(config.connectionsFile)), env);
    if (catalog.get('mcp'))
      throw new GatewayError('AG_ERR_CONFIG_INVALID', 'an http connection may not be named mcp: /mcp/ is the MCP edge');
    // What a stdio MCP server inherits: enough to run, none of the gateway's own settings or secrets.
    const serverEnv = Object.fromEntries(
      ['PATH', 'HOME', 'LANG', 'TZ'].flatMap((k) => (env[k] === undefined ? [] : [[k, env[k] as string]])),
    );
    const maskingPlans = new MaskingPlans(loadMaskingKeys(config.connectionsFile, env));
    const verifier = createTokenVerifier(loadTrustFile(config.identityFile));
    // Every HTTP call and MCP POST carries its token: a verification is remembered briefly.
    const verifyToken = cachingVerifier((token) => verifier.verify(token), {
      maxAgeMs: config.tokenCacheMs,
      maxEntries: 10_000,
      now: Date.now,
    });
    const tls = { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) };
    const pipeline = await startIngressPipeline({ ...config, verdictReader: 'http' }, logger, (t) => ({ ensured: [t.control] }));
    const { topics, sink, verdicts } = pipeline;
    const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);
    const auditOptions = {
      sink,
      topic: topics.ingress,
      verdicts,
      producer: config.instanceId,
      newId: randomUUID,
      nowUs,
      auditWriteTimeoutMs: config.auditWriteTimeoutMs,
      verdictTimeoutMs: config.verdictTimeoutMs,
    };
    const mcpTiming = mcpStages();
    const mcp = createMcpGateway({
      config: {
        instanceId: config.instanceId,
        auditBodyBytes: config.auditBodyBytes,
        callTimeoutMs: config.mcpCallTimeoutMs,
        approvalsUrl: config.approvalsUrl,
        maxBodyBytes: config.maxBodyBytes,
        sessionIdleMs: config.mcpSessionIdleMs,
        maxSessions: config.mcpMaxSessions,
        maxSessionsPerIdentity: config.mcpMaxSessionsPerIdentity,
      },
      catalog: mcpCatalog,
      verifyToken: async (token) => auditActor(await verifyToken(token)),
      startAudit: timedAudit(pipelineAudit({ ...auditOptions, approvalWaitMs: config.mcpApprovalWaitMs }), mcpTiming.observe),
      maskingPlans,
      openUpstream: (name) => {
        const connection = mcpCatalog.get(name)!;
        const client = upstreamClient({ name: 'agentgate', version: '0.1.0' });
        return {
          client,
          connect: () =>
            client.connect(
              upstreamTransport(connection, { resolveCredential: (reference) => resolveCredential(reference, env), baseEnv: serverEnv }),
              { timeout: config.upstreamConnectTimeoutMs * 4 },
            ),
        };
      },
      logger,
      newId: randomUUID,
    });
    // An admin's kill ends an MCP session (an HTTP call is one request: nothing to kill).
    const control = await pipeline.startControlFeed(config.controlGroup, (sessionId, message) => mcp.kill(sessionId, message));
    const server = createHttpIngress({
      mcp,
      observeMcp: mcpTiming.observe,
      config,
      catalog,
      tls,
      verifyToken: async (token) => auditActor(await verifyToken(token)),
      startAudit: pipelineAudit({ ...auditOptions, approvalWaitMs: config.approvalWaitMs }),
      maskingPlans,
      resolveCredential: (reference) => resolveCredential(reference, env),
      logger,
      newId: randomUUID,
    });
    const port = await server.listen(config.listenHost, config.listenPort);
    return {
      readiness: () => ({ verdictFeed: verdicts.ready, controlFeed: control.ready }),
      metrics: () => server.metrics() + mcpTiming.render() + verdicts.metrics() + sink.metrics(),
      describe: () => ({ host: config.listenHost, port, connections: catalog.names(), mcpConnections: mcpCatalog.names() }),
      async stop() {
        await server.close();
        await pipeline.stop();
      },
    };
  },
});
