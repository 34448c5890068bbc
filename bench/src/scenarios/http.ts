// The HTTP ingress beside its direct baseline: sequential GETs of the schema registry's subject
// list, through the gateway (connection `registry`, TLS verified against the stack CA, demo-agent's
// token as the bearer) and straight to the registry, each over one kept-alive connection.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { type LatencyStats, summarize } from '../scenario-stats.js';
import { type BenchContext, tokenFor } from './context.js';
import { timeSequential } from './sequential.js';

/** Allowed for group `agents` on `registry` by the demo policy. */
export const HTTP_PATH = '/apis/ccompat/v7/subjects';

export interface HttpRun {
  path: 'agentgate' | 'direct';
  url: string;
  stats: LatencyStats;
}

export interface HttpResult {
  runs: HttpRun[];
  warmup: number;
}

export async function httpLatency(ctx: BenchContext): Promise<HttpResult> {
  const n = ctx.quick ? 50 : 200;
  const warmup = 10;
  const token = tokenFor(ctx, 'demo-agent');
  const targets = [
    { path: 'direct' as const, url: `http://127.0.0.1:${ctx.registryPort}${HTTP_PATH}`, headers: {}, agent: new Agent() },
    {
      path: 'agentgate' as const,
      url: `https://127.0.0.1:${ctx.httpIngressPort}/registry${HTTP_PATH}`,
      headers: { authorization: `Bearer ${token}` },
      agent: new Agent({ connect: { ca: readFileSync(ctx.caFile, 'utf8') } }),
    },
  ];
  const runs: HttpRun[] = [];
  for (const t of targets) {
    try {
      const ms = await timeSequential(n, warmup, async () => {
        const r = await request(t.url, { method: 'GET', headers: t.headers, dispatcher: t.agent });
        // Reading the whole body is part of the round trip (and frees the connection for the next).
        const body = await r.body.text();
        if (r.statusCode !== 200) throw new Error(`GET ${t.url} via ${t.path}: ${r.statusCode} ${body.slice(0, 300)}`);
      });
      runs.push({ path: t.path, url: t.url, stats: summarize(ms) });
      ctx.log(`http via ${t.path}: p50 ${summarize(ms).p50.toFixed(2)} ms`);
    } finally {
      await t.agent.close();
    }
  }
  return { runs, warmup };
}
