// The idle limit of MCP sessions with a real SDK upstream and agent: a call that takes longer
// than the limit is not cut off (the session is busy, not idle); a session with nothing to do
// past the limit is ended, and its chain closed as idle-timeout.
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor, RequestObserved, VerdictIssued } from '@agentgate/events';
import { MaskingPlans } from '@agentgate/ingress-core';
import { parseMcpCatalog, upstreamClient, upstreamTransport } from '@agentgate/mcp';
import { createLogger } from '@agentgate/observability';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ExchangeAudit } from '../exchange-audit.js';
import { createMcpGateway, type McpGateway } from './mcp-gateway.js';

const IDLE_MS = 1000;
const actor: Actor = { subject: 'demo-agent', issuer: 'test', groups: ['agents'], actChain: [], tokenId: null, authMethod: 'test' };
const closed: { sessionId: string; reason: string }[] = [];
let upstream: HttpServer;
let front: HttpServer;
let gateway: McpGateway;
let base = '';

function upstreamServer(): Server {
  const s = new Server({ name: 'slow-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'slow', inputSchema: { type: 'object' as const } }] }));
  s.setRequestHandler(CallToolRequestSchema, async () => {
    await sleep(IDLE_MS * 2.5);
    return { content: [{ type: 'text', text: 'done' }] };
  });
  return s;
}

function allow(request: RequestObserved): VerdictIssued {
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
    visibleTools: ['slow'],
  };
}

function startAudit(sessionId: string): ExchangeAudit {
  return {
    open: async () => {},
    decide: async (p) => allow(p),
    respond: async () => {},
    close: async (p) => {
      closed.push({ sessionId, reason: p.reason });
    },
  };
}

before(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void transport.close());
      void upstreamServer()
        .connect(transport)
        .then(() => transport.handleRequest(req, res, chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
  const catalog = parseMcpCatalog([{ name: 'slow', protocol: 'mcp', transport: 'http', url, allowedGroups: ['agents'] }], {});
  let n = 0;
  gateway = createMcpGateway({
    config: {
      instanceId: 'unit',
      auditBodyBytes: 4096,
      callTimeoutMs: 10_000,
      approvalsUrl: 'http://approvals',
      maxBodyBytes: 1 << 20,
      sessionIdleMs: IDLE_MS,
      maxSessions: 4,
      maxSessionsPerIdentity: 4,
    },
    catalog,
    verifyToken: async () => actor,
    startAudit,
    maskingPlans: new MaskingPlans(undefined),
    openUpstream: (name) => {
      const client = upstreamClient({ name: 'agentgate', version: '0' });
      return { client, connect: () => client.connect(upstreamTransport(catalog.get(name)!, { resolveCredential: () => '', baseEnv: {} })) };
    },
    logger: createLogger({ service: 'mcp-idle-unit', level: 'silent' }),
    newId: () => `idle-${++n}`,
  });
  front = createServer((req, res) => void gateway.handle(req, res));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

after(async () => {
  await gateway.close();
  front.close();
  upstream.close();
});

test('a call longer than the idle limit completes; a session idle past it is ended as idle-timeout', async () => {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/slow`), {
    requestInit: { headers: { authorization: 'Bearer t' } },
  });
  const client = new Client({ name: 'unit-agent', version: '1' });
  await client.connect(transport);
  const sessionId = transport.sessionId!;
  const r = await client.callTool({ name: 'slow', arguments: {} }, undefined, { timeout: IDLE_MS * 5 });
  assert.deepEqual(r.content, [{ type: 'text', text: 'done' }], 'the busy session was not reaped mid-call');
  assert.equal(closed.length, 0);
  await sleep(IDLE_MS * 3);
  assert.deepEqual(closed, [{ sessionId, reason: 'idle-timeout' }]);
  await assert.rejects(client.callTool({ name: 'slow', arguments: {} }, undefined, { timeout: IDLE_MS * 5 }));
  await client.close();
});
