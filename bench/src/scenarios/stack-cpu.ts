// CPU of the stack's own processes (utime + stime from /proc/<pid>/stat), and a wait for the stack
// to settle before a scenario measures: what earlier scenarios leave behind (the projector and the
// checkpointer catching up on their events, ClickHouse merging what they inserted) competes for
// the same two cores as the statements measured, and stretches every figure taken meanwhile
// (docs/benchmarks.md, "A settled stack").
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchContext, sleep } from './context.js';

/** The processes whose CPU is counted, by their pid file in .stack/run. */
export const COUNTED = [
  'ingress-postgres',
  'policy-processor',
  'kafka',
  'projector',
  'checkpointer',
  'clickhouse',
  'ingress-ssh',
  'ingress-http',
  'approval-service',
] as const;

/** The kernel's clock ticks per second, the unit of /proc/<pid>/stat's times. */
export function clockTicksPerSecond(): number {
  return Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
}

/** Clock ticks of utime + stime, by process (absent when its pid file or process is gone). */
export function cpuTicks(ctx: BenchContext): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of COUNTED) {
    try {
      const pid = readFileSync(join(ctx.stackDir, 'run', `${name}.pid`), 'utf8').trim();
      // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, Number(fields[11]) + Number(fields[12]));
    } catch {
      // Not running: not counted.
    }
  }
  return out;
}

/**
 * Cores the processes kept busy between two readings `elapsedMs` apart, summed over the processes
 * present in both (one restarted in between counts from its new start, never negative).
 */
export function coresBusy(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  elapsedMs: number,
  ticksPerSecond: number,
): number {
  if (!(elapsedMs > 0)) return 0;
  let ticks = 0;
  for (const [name, t] of after) {
    const start = before.get(name);
    if (start !== undefined) ticks += Math.max(0, t - start);
  }
  return ticks / (ticksPerSecond * (elapsedMs / 1000));
}

/** How a wait for a quiet stack ended. */
export interface Settling {
  /** Whether the stack went under `maxCores` before the time limit. */
  settled: boolean;
  /** Cores the stack kept busy over the last window read. */
  coresBusy: number;
  /** Time waited, ms. */
  waitedMs: number;
  /** The threshold, in cores, and the window it was read over, ms. */
  maxCores: number;
  windowMs: number;
}

export interface SettleOptions {
  /** Quiet below this many cores, all counted processes together. */
  maxCores: number;
  windowMs: number;
  timeoutMs: number;
}

/**
 * This stack at rest keeps 0.15-0.35 cores busy (Kafka's own work the most); catching up after
 * a scenario, 1 to 2. Half a core tells the two apart.
 */
export const SETTLE_DEFAULTS: SettleOptions = { maxCores: 0.5, windowMs: 3_000, timeoutMs: 300_000 };

/**
 * Reads the stack's CPU over consecutive windows until one is under `maxCores` or the time is up
 * (then it goes on, and says so). The readings, the clock and the pause are injected.
 */
export async function settle(
  read: () => ReadonlyMap<string, number>,
  ticksPerSecond: number,
  options: SettleOptions,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> },
): Promise<Settling> {
  const start = clock.now();
  for (;;) {
    const before = read();
    const t0 = clock.now();
    await clock.sleep(options.windowMs);
    const busy = coresBusy(before, read(), clock.now() - t0, ticksPerSecond);
    const waitedMs = clock.now() - start;
    if (busy < options.maxCores)
      return { settled: true, coresBusy: busy, waitedMs, maxCores: options.maxCores, windowMs: options.windowMs };
    if (waitedMs >= options.timeoutMs)
      return { settled: false, coresBusy: busy, waitedMs, maxCores: options.maxCores, windowMs: options.windowMs };
  }
}

/** Waits for this stack to settle (SETTLE_DEFAULTS), logging how it went. */
export async function waitForQuietStack(ctx: BenchContext, what: string, options: SettleOptions = SETTLE_DEFAULTS): Promise<Settling> {
  const s = await settle(() => cpuTicks(ctx), clockTicksPerSecond(), options, { now: () => performance.now(), sleep });
  ctx.log(
    `${what}: the stack ${s.settled ? 'settled' : 'did not settle'} at ${s.coresBusy.toFixed(2)} cores busy after ${(s.waitedMs / 1000).toFixed(0)} s`,
  );
  return s;
}
