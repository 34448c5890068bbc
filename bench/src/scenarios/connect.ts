// Connection set-up: sequential connect, `select 1`, end, with node-postgres; TLS on every hop
// (agent -> gateway verified against the local CA, gateway -> target verify-full).
import pg from 'pg';
import { type LatencyStats, summarize } from '../scenario-stats.js';
import { type BenchContext, pgSettings } from './context.js';

export interface ConnectRun {
  path: 'agentgate' | 'direct';
  stats: LatencyStats;
}

export async function connectSetup(ctx: BenchContext): Promise<ConnectRun[]> {
  const n = ctx.quick ? 20 : 50;
  const out: ConnectRun[] = [];
  for (const path of ['direct', 'agentgate'] as const) {
    const ms: number[] = [];
    for (let i = 0; i < n + 2; i++) {
      const t = performance.now();
      const c = new pg.Client(pgSettings(ctx, path, `${ctx.runId}_connect`));
      await c.connect();
      await c.query('select 1');
      await c.end();
      if (i >= 2) ms.push(performance.now() - t); // the first two warm TLS contexts and caches
    }
    out.push({ path, stats: summarize(ms) });
    ctx.log(`connect via ${path}: p50 ${summarize(ms).p50.toFixed(1)} ms`);
  }
  return out;
}
