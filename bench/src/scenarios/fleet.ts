// A fleet of agents: N connections open at once, each issuing about one statement per second for
// T seconds, through a bench-owned ingress (the stack's caps sessions at 50 per identity and
// 500 in all) and directly to the target. Connections open in waves of at most 25, under the
// ingress's limit of 50 unauthenticated connections per client address.
import pg from 'pg';
import { connectionBudget, type LatencyStats, summarize, waves } from '../scenario-stats.js';
import { type BenchContext, maxConnectionsAdvice, pgSettings, sleep, targetConnections } from './context.js';
import { startInstance } from './instances.js';

export const WAVE_SIZE = 25;

export interface FleetRun {
  path: 'agentgate' | 'direct';
  connections: number;
  stats: LatencyStats;
  errors: number;
  /** Wall time to open every connection, in waves. */
  connectMs: number;
}

export interface FleetResult {
  requested: number;
  connections: number;
  seconds: number;
  maxConnections: number;
  /** Set when the target could not take the requested fleet. */
  note: string | undefined;
  runs: FleetRun[];
  command: string;
}

async function fleetRun(ctx: BenchContext, path: 'agentgate' | 'direct', n: number, seconds: number, port?: number): Promise<FleetRun> {
  const clients: pg.Client[] = [];
  const ms: number[] = [];
  let errors = 0;
  let ended = 0;
  const t0 = performance.now();
  try {
    for (const size of waves(n, WAVE_SIZE)) {
      const wave = Array.from({ length: size }, () => {
        const c = new pg.Client(pgSettings(ctx, path, `${ctx.runId}_fleet_${path}`, port));
        // A session that ends (a FATAL from the gateway or the target) is counted, not a crash.
        c.on('error', () => {
          ended++;
        });
        return c;
      });
      // Each is pushed before it connects, so a failed wave still ends every client.
      clients.push(...wave);
      await Promise.all(wave.map((c) => c.connect()));
    }
    const connectMs = performance.now() - t0;
    ctx.log(`fleet ${path}: ${n} connections open in ${(connectMs / 1000).toFixed(1)} s`);
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      clients.map(async (c, i) => {
        // Spread the fleet over the second, then one statement per second each.
        await sleep(Math.random() * 1000);
        for (let k = 0; performance.now() < end; k++) {
          const next = performance.now() + 1000;
          const t = performance.now();
          try {
            await c.query('select $1::int as n', [i * 1000 + k]);
            ms.push(performance.now() - t);
          } catch {
            errors++;
          }
          await sleep(Math.max(0, next - performance.now()));
        }
      }),
    );
    if (ended > 0) ctx.log(`fleet ${path}: ${ended} sessions ended during the run`);
    return { path, connections: n, stats: summarize(ms), errors, connectMs };
  } finally {
    await Promise.allSettled(clients.map((c) => c.end()));
  }
}

export async function fleet(ctx: BenchContext, requested: number): Promise<FleetResult> {
  const seconds = ctx.quick ? 10 : 30;
  const { max, inUse } = await targetConnections(ctx);
  // Each agentgate session holds a target connection too; the two paths run one after the other.
  const n = connectionBudget(requested, max, inUse, 30);
  const note = n < requested ? `ran ${n} of ${requested} connections: ${maxConnectionsAdvice(max, requested + inUse + 30)}` : undefined;
  if (note) ctx.log(`fleet: ${note}`);
  const ingress = await startInstance(ctx, 'ingress-postgres', `bench-fleet-${ctx.runId}`, {
    AG_PG_MAX_SESSIONS: String(n + 50),
    AG_PG_MAX_SESSIONS_PER_IDENTITY: String(n + 50),
  });
  const runs: FleetRun[] = [];
  try {
    runs.push(await fleetRun(ctx, 'direct', n, seconds));
    runs.push(await fleetRun(ctx, 'agentgate', n, seconds, ingress.pgPort));
  } finally {
    await ingress.stop();
  }
  return {
    requested,
    connections: n,
    seconds,
    maxConnections: max,
    note,
    runs,
    command: `npm run bench -- --scenarios${ctx.quick ? ' --quick' : ''} --fleet ${requested} (node-postgres, 'select $1::int' once a second per connection, ${seconds} s; agentgate through a second ingress started with AG_PG_MAX_SESSIONS=AG_PG_MAX_SESSIONS_PER_IDENTITY=${n + 50})`,
  };
}
