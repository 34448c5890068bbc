// The audit log's off-path consumers, the projector and the checkpointer, as they were (a fetch per
// event, Kafka's minBytes 1; the projector inserting every 250 ms) against their defaults now
// (fetches of 256 KiB or a wait; the projector inserting every second): the stack's
// own two restarted with each mode's settings, the same sequential statements through the
// gateway, and per process the CPU it spent per statement (utime + stime from /proc/<pid>/stat).
// Modes alternate, twice each, so that drift on a shared machine falls on both. The stack's two
// are left running with their defaults.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { type LatencyStats, summarize } from '../scenario-stats.js';
import { type BenchContext, pgSettings, sleep } from './context.js';
import { clockTicksPerSecond, cpuTicks } from './stack-cpu.js';

export type ConsumerMode = 'per-event' | 'batched';

/** What each mode sets; `batched` is the services' defaults (nothing set). */
export const MODE_SETTINGS: Record<ConsumerMode, Record<string, string>> = {
  'per-event': {
    AG_PROJECTOR_FETCH_MIN_BYTES: '1',
    AG_PROJECTOR_FETCH_MAX_WAIT_MS: '200',
    AG_PROJECTOR_BATCH_MS: '250',
    AG_CHECKPOINTER_FETCH_MIN_BYTES: '1',
    AG_CHECKPOINTER_FETCH_MAX_WAIT_MS: '100',
  },
  batched: {},
};

const RESTARTED = ['projector', 'checkpointer'] as const;

export interface ConsumersRun {
  mode: ConsumerMode;
  statements: number;
  stats: LatencyStats;
  /** CPU milliseconds per statement, by process. */
  cpuMs: Record<string, number>;
}

export interface ConsumersResult {
  runs: ConsumersRun[];
  query: string;
}

function restart(ctx: BenchContext, settings: Record<string, string>): void {
  const stack = join(ctx.root, 'deploy/local/stack.sh');
  for (const service of RESTARTED) {
    const env = { ...process.env, ...settings };
    for (const action of ['stop', 'start']) {
      const r = spawnSync('bash', [stack, action, service], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`stack.sh ${action} ${service} failed: ${r.stderr}`);
    }
  }
}

export async function consumers(ctx: BenchContext): Promise<ConsumersResult> {
  const query = 'select 1';
  const statements = ctx.quick ? 300 : 1500;
  const ticksPerSecond = clockTicksPerSecond();
  const runs: ConsumersRun[] = [];
  // The mode the stack's two run in: left with their defaults, restarted again only if not.
  let running: ConsumerMode | undefined;
  try {
    for (const mode of ['per-event', 'batched', 'per-event', 'batched'] as const) {
      running = undefined;
      restart(ctx, MODE_SETTINGS[mode]);
      running = mode;
      // The restarted consumers join their groups and read what they missed before counting.
      await sleep(5_000);
      const client = new pg.Client(pgSettings(ctx, 'agentgate', `${ctx.runId}_consumers`));
      await client.connect();
      try {
        for (let i = 0; i < 20; i++) await client.query(query);
        const before = cpuTicks(ctx);
        const times: number[] = [];
        for (let i = 0; i < statements; i++) {
          const t = performance.now();
          await client.query(query);
          times.push(performance.now() - t);
        }
        const after = cpuTicks(ctx);
        const cpuMs: Record<string, number> = {};
        for (const [name, ticks] of after) {
          const start = before.get(name);
          if (start !== undefined) cpuMs[name] = (((ticks - start) / ticksPerSecond) * 1000) / statements;
        }
        runs.push({ mode, statements, stats: summarize(times), cpuMs });
        ctx.log(
          `consumers: ${mode} p50 ${summarize(times).p50.toFixed(2)} ms, projector ${cpuMs['projector']?.toFixed(2)} ms CPU per statement`,
        );
      } finally {
        await client.end();
      }
    }
  } finally {
    if (running !== 'batched') restart(ctx, MODE_SETTINGS.batched);
  }
  return { runs, query };
}
