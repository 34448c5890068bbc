// The MCP gateway beside its direct baseline: one established session each, then sequential
// `tools/call echo {message: "bench"}`. Through the gateway: the SDK client over Streamable HTTP
// to /mcp/everything as demo-agent (TLS verified against the stack CA); directly: the SDK client
// over stdio to the same server package, started with the catalog's command line from the repo
// root. The session open (initialize) is timed once per path: through the gateway it records a
// session and starts the server's process.
import { readFileSync } from 'node:fs';
import { createClickHouse, quoteString } from '@agentgate/clickhouse';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { type LatencyStats, metricValue, summarize } from '../scenario-stats.js';
import { type BenchContext, secret, sleep, tokenFor } from './context.js';
import { type McpAuditRow, type McpStages, mcpStages, summaryMeanMs } from './mcp-stages.js';
import { timeSequential } from './sequential.js';

/** The demo connection and the tool the demo policy lets group `agents` call there. */
export const MCP_CONNECTION = 'everything';
export const MCP_TOOL = 'echo';
const MESSAGE = 'bench';
/** The catalog's command line for `everything` (deploy/connections.json), relative to the repo root. */
const SERVER_ARGS = ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'];

export interface McpRun {
  path: 'agentgate' | 'direct';
  /** The URL, or the command line the client started. */
  target: string;
  /** initialize (and the initialized notification) of the one session, ms. */
  openMs: number;
  stats: LatencyStats;
}

export interface McpResult {
  runs: McpRun[];
  warmup: number;
  /** Where the gateway's time went, when the audit log and the processor's metrics could be read. */
  stages?: McpStages;
  /** Why there are no stages. */
  stagesError?: string;
}

/** A client that offers nothing: through the gateway, the server is offered the gateway's own capabilities. */
const newClient = (): Client => new Client({ name: 'agentgate-bench', version: '1.0.0' }, { capabilities: {} });

async function echoOnce(client: Client): Promise<void> {
  const r = await client.callTool({ name: MCP_TOOL, arguments: { message: MESSAGE } });
  const text = (r.content as { type: string; text?: string }[] | undefined)?.find((c) => c.type === 'text')?.text ?? '';
  if (r.isError === true || !text.includes(MESSAGE)) throw new Error(`${MCP_TOOL} answered ${JSON.stringify(r).slice(0, 300)}`);
}

async function processorSummary(ctx: BenchContext): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${ctx.processorAdminPort}/metrics`)).text();
  return {
    sum: metricValue(text, 'agentgate_policy_request_to_verdict_seconds_sum'),
    count: metricValue(text, 'agentgate_policy_request_to_verdict_seconds_count'),
  };
}

/** The session's request and response events, once the projector has stored `expected` responses (30 s at most). */
async function auditRows(ctx: BenchContext, sessionId: string, expected: number): Promise<McpAuditRow[]> {
  const ch = createClickHouse({
    url: ctx.clickhouseUrl,
    database: 'default',
    username: 'default',
    password: secret(ctx, 'clickhouse-admin.password'),
  });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await ch.query({
        query: `SELECT event_type, request_id, seq, time_us FROM ${ctx.clickhouseDatabase}.events
                WHERE session_id = ${quoteString(sessionId)} AND event_type IN ('RequestObserved', 'ResponseObserved')`,
        format: 'JSONEachRow',
      });
      const rows = (await r.json<{ event_type: string; request_id: string; seq: string; time_us: string }>()).map((x) => ({
        eventType: x.event_type,
        requestId: x.request_id,
        seq: Number(x.seq),
        timeUs: Number(x.time_us),
      }));
      // Waits for the responses counted, not the requests: each response is recorded after its request.
      if (rows.filter((x) => x.eventType === 'ResponseObserved').length >= expected || Date.now() > deadline) return rows;
      await sleep(500);
    }
  } finally {
    await ch.close();
  }
}

export async function mcpLatency(ctx: BenchContext): Promise<McpResult> {
  const n = ctx.quick ? 50 : 200;
  const warmup = 10;
  const runs: McpRun[] = [];
  const result: McpResult = { runs, warmup };

  // Direct: the gateway's environment for a stdio server (PATH, HOME, LANG, TZ), nothing else.
  const env = Object.fromEntries(
    ['PATH', 'HOME', 'LANG', 'TZ'].flatMap((k) => (ctx.env[k] === undefined ? [] : [[k, ctx.env[k] as string]])),
  );
  const stdio = new StdioClientTransport({ command: 'node', args: SERVER_ARGS, cwd: ctx.root, env, stderr: 'ignore' });
  runs.push(await measure(ctx, 'direct', `node ${SERVER_ARGS.join(' ')}`, stdio, n, warmup));

  const url = `https://127.0.0.1:${ctx.httpIngressPort}/mcp/${MCP_CONNECTION}`;
  const dispatcher = new Agent({ connect: { ca: readFileSync(ctx.caFile, 'utf8') } });
  const stackFetch = ((u: string | URL, init?: RequestInit) =>
    undiciFetch(u, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
  const http = new StreamableHTTPClientTransport(new URL(url), {
    fetch: stackFetch,
    requestInit: { headers: { authorization: `Bearer ${tokenFor(ctx, 'demo-agent')}` } },
  });
  let before: { sum: number; count: number } | undefined;
  let after: { sum: number; count: number } | undefined;
  let samples: number[] = [];
  let sessionId: string | undefined;
  try {
    runs.push(
      await measure(ctx, 'agentgate', url, http, n, warmup, {
        beforeTimed: async () => {
          before = await processorSummary(ctx).catch(() => undefined);
        },
        afterTimed: async (ms) => {
          after = await processorSummary(ctx).catch(() => undefined);
          samples = ms;
          // Read now: ending the session forgets its id.
          sessionId = http.sessionId;
        },
      }),
    );
    try {
      if (sessionId === undefined) throw new Error('the gateway answered initialize without Mcp-Session-Id');
      const stages = mcpStages(samples, await auditRows(ctx, sessionId, warmup + n), warmup);
      const processor = before && after ? summaryMeanMs(before, after) : { meanMs: Number.NaN, count: 0 };
      result.stages = { ...stages, processorMeanMs: processor.meanMs, processorVerdicts: processor.count };
    } catch (err) {
      result.stagesError = err instanceof Error ? err.message : String(err);
      ctx.log(`mcp stages not measured: ${result.stagesError}`);
    }
  } finally {
    await dispatcher.close();
  }
  return result;
}

/** Opens one session over `transport` (timed), makes the calls, and ends the session. */
async function measure(
  ctx: BenchContext,
  path: McpRun['path'],
  target: string,
  transport: Transport,
  n: number,
  warmup: number,
  hooks: { beforeTimed?: () => Promise<void>; afterTimed?: (ms: number[]) => Promise<void> } = {},
): Promise<McpRun> {
  const client = newClient();
  const started = performance.now();
  await client.connect(transport);
  const openMs = performance.now() - started;
  try {
    await timeSequential(0, warmup, () => echoOnce(client));
    await hooks.beforeTimed?.();
    const ms = await timeSequential(n, 0, () => echoOnce(client));
    await hooks.afterTimed?.(ms);
    const stats = summarize(ms);
    ctx.log(`mcp via ${path}: open ${openMs.toFixed(1)} ms, p50 ${stats.p50.toFixed(2)} ms`);
    return { path, target, openMs, stats };
  } finally {
    // Through the gateway, DELETE ends the audit session (and its server's process) now, not at the idle timeout.
    if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => {});
    await client.close();
  }
}
