// The MCP edge as the unit tests start it: a gateway over a catalog of their own, behind a
// plain HTTP listener on 127.0.0.1, with SDK clients to their upstreams. Test support only.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Actor, RequestObserved, VerdictIssued } from '@agentgate/events';
import { MaskingPlans } from '@agentgate/ingress-core';
import { type McpCatalog, upstreamClient, upstreamTransport } from '@agentgate/mcp';
import { createLogger } from '@agentgate/observability';
import type { StartExchangeAudit } from '../exchange-audit.js';
import { createMcpGateway, type McpGateway, type McpGatewayConfig } from './mcp-gateway.js';

export const TEST_ACTOR: Actor = {
  subject: 'demo-agent',
  issuer: 'test',
  groups: ['agents'],
  actChain: [],
  tokenId: null,
  authMethod: 'test',
};

/** An allow verdict of `request` with nothing else to say; override what a test decides. */
export function allowVerdict(request: RequestObserved, fields: Partial<VerdictIssued> = {}): VerdictIssued {
  return {
    requestId: request.requestId,
    policyVersion: 'test@1',
    approvalId: null,
    statementDigest: null,
    shadow: false,
    requestTimeUs: 0,
    decision: 'allow',
    ruleId: 'ok',
    reason: 'ok',
    errorCode: null,
    maskingPlan: [],
    visibleTools: [],
    ...fields,
  };
}

export interface TestGateway {
  gateway: McpGateway;
  /** http://127.0.0.1:<port>: the agent's URL is `${base}/mcp/<connection>`. */
  base: string;
  close(): Promise<void>;
}

export async function startTestGateway(options: {
  catalog: McpCatalog;
  startAudit: StartExchangeAudit;
  config?: Partial<McpGatewayConfig>;
  verifyToken?: (token: string) => Promise<Actor>;
  /** The environment a stdio server gets (none by default). */
  serverEnv?: Record<string, string>;
}): Promise<TestGateway> {
  let n = 0;
  const gateway = createMcpGateway({
    config: {
      instanceId: 'unit',
      auditBodyBytes: 4096,
      callTimeoutMs: 10_000,
      approvalsUrl: 'http://approvals',
      maxBodyBytes: 1 << 20,
      sessionIdleMs: 60_000,
      maxSessions: 4,
      maxSessionsPerIdentity: 4,
      ...options.config,
    },
    catalog: options.catalog,
    verifyToken: options.verifyToken ?? (async () => TEST_ACTOR),
    startAudit: options.startAudit,
    maskingPlans: new MaskingPlans({ current: { id: 'k', secret: new Uint8Array(32).fill(7) } }),
    openUpstream: (name) => {
      const client = upstreamClient({ name: 'agentgate', version: '0' });
      const transport = upstreamTransport(options.catalog.get(name)!, { resolveCredential: () => '', baseEnv: options.serverEnv ?? {} });
      return { client, connect: () => client.connect(transport) };
    },
    logger: createLogger({ service: 'mcp-unit', level: 'silent' }),
    newId: () => `id-${++n}`,
  });
  const front = createServer((req, res) => void gateway.handle(req, res));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return {
    gateway,
    base: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    async close() {
      await gateway.close();
      front.close();
    },
  };
}
