// What a server asks of the agent (sampling), through the gateway with the published
// server-everything over stdio: allowed under a masking plan, the agent's model sees the
// server's messages masked; denied, the agent is never asked and the server's tool fails.
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import type { Actor, RequestObserved, VerdictIssued } from '@agentgate/events';
import { MaskingPlans } from '@agentgate/ingress-core';
import { DETECTOR_NAMES, toVerdictRules } from '@agentgate/masking';
import { parseMcpCatalog, upstreamClient, upstreamTransport } from '@agentgate/mcp';
import { createLogger } from '@agentgate/observability';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ExchangeAudit } from '../exchange-audit.js';
import { createMcpGateway, type McpGateway } from './mcp-gateway.js';

const CARD = '4111111111111111';
const EVERYTHING = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const actor: Actor = { subject: 'demo-agent', issuer: 'test', groups: ['agents'], actChain: [], tokenId: null, authMethod: 'test' };
const plan = toVerdictRules({ version: 1, rules: [], detectors: [...DETECTOR_NAMES], defaultDetectorStrategy: { kind: 'redact' } });
let samplingAllowed = true;
let front: HttpServer;
let gateway: McpGateway;
let base = '';

function verdictFor(request: RequestObserved): VerdictIssued {
  const d = request.detail;
  const deny = d.kind === 'mcp' && d.method === 'sampling/createMessage' && !samplingAllowed;
  return {
    requestId: request.requestId,
    policyVersion: 'test@1',
    approvalId: null,
    statementDigest: null,
    shadow: false,
    requestTimeUs: 0,
    decision: deny ? 'deny' : 'allow',
    ruleId: deny ? null : 'ok',
    reason: deny ? 'no rule allows sampling' : 'ok',
    errorCode: deny ? 'AG_ERR_POLICY_DENIED' : null,
    maskingPlan: deny ? [] : plan,
    visibleTools: d.kind === 'mcp' ? d.tools.map((t) => t.name) : [],
  };
}

function startAudit(): ExchangeAudit {
  return { open: async () => {}, decide: async (p) => verdictFor(p), respond: async () => {}, close: async () => {} };
}

before(async () => {
  const catalog = parseMcpCatalog(
    [
      {
        name: 'everything',
        protocol: 'mcp',
        transport: 'stdio',
        command: process.execPath,
        args: [EVERYTHING, 'stdio'],
        allowedGroups: ['agents'],
      },
    ],
    {},
  );
  let n = 0;
  gateway = createMcpGateway({
    config: {
      instanceId: 'unit',
      auditBodyBytes: 4096,
      callTimeoutMs: 20_000,
      approvalsUrl: 'http://approvals',
      maxBodyBytes: 1 << 20,
      sessionIdleMs: 60_000,
      maxSessions: 4,
      maxSessionsPerIdentity: 4,
    },
    catalog,
    verifyToken: async () => actor,
    startAudit,
    maskingPlans: new MaskingPlans({ current: { id: 'k', secret: new Uint8Array(32).fill(7) } }),
    openUpstream: (name) => {
      const client = upstreamClient({ name: 'agentgate', version: '0' });
      const env = { PATH: process.env['PATH'] ?? '' };
      return {
        client,
        connect: () => client.connect(upstreamTransport(catalog.get(name)!, { resolveCredential: () => '', baseEnv: env })),
      };
    },
    logger: createLogger({ service: 'mcp-sampling-unit', level: 'silent' }),
    newId: () => `s-${++n}`,
  });
  front = createServer((req, res) => void gateway.handle(req, res));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

after(async () => {
  await gateway.close();
  front.close();
});

async function samplingAgent(): Promise<{ client: Client; asked: string[] }> {
  const asked: string[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/everything`), {
    requestInit: { headers: { authorization: 'Bearer t' } },
  });
  const client = new Client({ name: 'unit-agent', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    asked.push(JSON.stringify(request.params.messages));
    return { role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'unit' };
  });
  await client.connect(transport);
  return { client, asked };
}

test("allowed under a masking plan, the server's sampling request reaches the agent masked", async () => {
  samplingAllowed = true;
  const { client, asked } = await samplingAgent();
  const r = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: `charge ${CARD} please`, maxTokens: 10 } });
  assert.notEqual(r.isError, true, JSON.stringify(r));
  assert.equal(asked.length, 1, 'the agent was asked once');
  assert.equal(asked[0]!.includes(CARD), false, asked[0]);
  assert.match(asked[0]!, /REDACTED:card/);
  await client.close();
});

test('denied, the agent is never asked and the tool reports the refusal', async () => {
  samplingAllowed = false;
  const { client, asked } = await samplingAgent();
  const r = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 10 } });
  assert.equal(asked.length, 0);
  assert.equal(r.isError, true);
  assert.match(JSON.stringify(r.content), /AG_ERR_POLICY_DENIED/);
  await client.close();
});
