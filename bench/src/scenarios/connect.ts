// Connection set-up: sequential connect, `select 1`, end, with node-postgres; TLS on every hop
// (agent -> gateway verified against the local CA, gateway -> target verify-full).
import pg from 'pg';
import { histogramDelta, type LatencyStats, summarize } from '../scenario-stats.js';
import { type BenchContext, pgSettings } from './context.js';
import { snapshotMetrics } from './stages.js';

/** The ingress's own connect stages (stage-metrics.ts), in the order a set-up passes them. */
export const CONNECT_STAGES = ['token', 'session-opened', 'upstream-login', 'total'];

export interface ConnectRun {
  path: 'agentgate' | 'direct';
  stats: LatencyStats;
  /** Through agentgate: agentgate_pg_connect_stage_seconds over the run, by stage. */
  stages?: { stage: string; stats: LatencyStats }[];
}

export async function connectSetup(ctx: BenchContext): Promise<ConnectRun[]> {
  const n = ctx.quick ? 20 : 50;
  const out: ConnectRun[] = [];
  for (const path of ['direct', 'agentgate'] as const) {
    const ms: number[] = [];
    const before = path === 'agentgate' ? await snapshotMetrics(ctx.ingressAdminPort) : undefined;
    for (let i = 0; i < n + 2; i++) {
      const t = performance.now();
      const c = new pg.Client(pgSettings(ctx, path, `${ctx.runId}_connect`));
      await c.connect();
      await c.query('select 1');
      await c.end();
      if (i >= 2) ms.push(performance.now() - t); // the first two warm TLS contexts and caches
    }
    const run: ConnectRun = { path, stats: summarize(ms) };
    if (before) {
      const delta = histogramDelta(before.text, (await snapshotMetrics(ctx.ingressAdminPort)).text, 'agentgate_pg_connect_stage_seconds');
      run.stages = CONNECT_STAGES.flatMap((stage) => {
        const stats = delta.get(stage);
        return stats ? [{ stage, stats }] : [];
      });
    }
    out.push(run);
    ctx.log(`connect via ${path}: p50 ${summarize(ms).p50.toFixed(1)} ms`);
  }
  return out;
}
