// The idle limit of MCP sessions with a real SDK upstream and agent: a call that takes longer
// than the limit is not cut off (the session is busy, not idle); a session with nothing to do
// past the limit is ended, and its chain closed as idle-timeout.
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMcpCatalog } from '@agentgate/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ExchangeAudit } from '../exchange-audit.js';
import { allowVerdict, startTestGateway, type TestGateway } from './gateway-fixture.js';

const IDLE_MS = 1000;
const closed: { sessionId: string; reason: string }[] = [];
let upstream: HttpServer;
let fixture: TestGateway;
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

function startAudit(sessionId: string): ExchangeAudit {
  return {
    open: async () => {},
    decide: async (p) => allowVerdict(p, { visibleTools: ['slow'] }),
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
  fixture = await startTestGateway({ catalog, startAudit, config: { sessionIdleMs: IDLE_MS } });
  base = fixture.base;
});

after(async () => {
  await fixture.close();
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
