// What a server asks of the agent (sampling), through the gateway with the published
// server-everything over stdio: allowed under a masking plan, the agent's model sees the
// server's messages masked; denied, the agent is never asked and the server's tool fails.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import type { RequestObserved, VerdictIssued } from '@agentgate/events';
import { DETECTOR_NAMES, toVerdictRules } from '@agentgate/masking';
import { parseMcpCatalog } from '@agentgate/mcp';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ExchangeAudit } from '../exchange-audit.js';
import { allowVerdict, startTestGateway, type TestGateway } from './gateway-fixture.js';

const CARD = '4111111111111111';
const EVERYTHING = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const plan = toVerdictRules({ version: 1, rules: [], detectors: [...DETECTOR_NAMES], defaultDetectorStrategy: { kind: 'redact' } });
let samplingAllowed = true;
let fixture: TestGateway;
let base = '';

function verdictFor(request: RequestObserved): VerdictIssued {
  const d = request.detail;
  const deny = d.kind === 'mcp' && d.method === 'sampling/createMessage' && !samplingAllowed;
  return allowVerdict(request, {
    decision: deny ? 'deny' : 'allow',
    ruleId: deny ? null : 'ok',
    reason: deny ? 'no rule allows sampling' : 'ok',
    errorCode: deny ? 'AG_ERR_POLICY_DENIED' : null,
    maskingPlan: deny ? [] : plan,
    visibleTools: d.kind === 'mcp' ? d.tools.map((t) => t.name) : [],
  });
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
  fixture = await startTestGateway({
    catalog,
    startAudit,
    config: { callTimeoutMs: 20_000 },
    serverEnv: { PATH: process.env['PATH'] ?? '' },
  });
  base = fixture.base;
});

after(async () => {
  await fixture.close();
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
