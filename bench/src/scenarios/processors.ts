// 1 vs 2 policy processors: pgbench select-only, prepared, 32 clients through the stack's
// ingress, first with the stack's single processor, then with a second instance the bench
// starts in the same consumer group (the ingress topic's partitions split between them).
import { parsePgbench } from '../report.js';
import { metricValue } from '../scenario-stats.js';
import { type BenchContext, conninfo, sleep } from './context.js';
import { startInstance } from './instances.js';
import { runOk } from './proc.js';

export interface ProcessorsRun {
  processors: number;
  tps: number;
  latencyMs: number;
  failed: number;
  /** Verdicts each processor issued during the run (anyone else's statements included), stack's first. */
  verdictsByProcessor: number[];
}

export interface ProcessorsResult {
  runs: ProcessorsRun[];
  command: string;
}

const VERDICTS = 'agentgate_policy_verdicts_total';

async function verdicts(adminPort: number): Promise<number> {
  try {
    return metricValue(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(), VERDICTS);
  } catch {
    return Number.NaN;
  }
}

export async function processors(ctx: BenchContext): Promise<ProcessorsResult> {
  // 32 clients need more than the quick default of 3 s to say anything.
  const seconds = Math.max(ctx.seconds, 10);
  const args = ['-n', '-S', '-M', 'prepared', '-c', '32', '-j', '2', '-T', String(seconds)];
  const c = conninfo(ctx, 'agentgate', `${ctx.runId}_processors`);
  const once = async (adminPorts: number[]): Promise<ProcessorsRun> => {
    const before = await Promise.all(adminPorts.map(verdicts));
    const r = await runOk('pgbench', [...args, c.conninfo], { env: { ...ctx.env, PGPASSWORD: c.password } });
    const after = await Promise.all(adminPorts.map(verdicts));
    const p = parsePgbench(r.stdout + r.stderr);
    ctx.log(`${adminPorts.length} processor(s): ${p.tps.toFixed(0)} tps`);
    return {
      processors: adminPorts.length,
      tps: p.tps,
      latencyMs: p.latencyMs,
      failed: p.failed,
      verdictsByProcessor: after.map((v, i) => v - before[i]!),
    };
  };
  const runs = [await once([ctx.processorAdminPort])];
  const second = await startInstance(ctx, 'policy-processor', `bench-${ctx.runId}`);
  try {
    // Let the group rebalance before measuring.
    await sleep(8000);
    runs.push(await once([ctx.processorAdminPort, second.adminPort]));
  } finally {
    await second.stop();
  }
  return { runs, command: c.shown.replace('psql', `pgbench ${args.join(' ')}`) };
}
