// Masking (issue 13), each figure beside its unmasked baseline in the same run:
//   - cells/s through maskText with every detector on (in process, one core);
//   - a 100-row result of public.customers as demo-agent (masked by the demo policy: column
//     rules and detectors) and as report-agent (readonly-agents: the same rows unmasked);
//   - a large computed result through psql as demo-agent on demo (every cell scanned by the
//     detectors) and as dba-agent on scratch (no plan), with the ingress's peak RSS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { compileMaskingPlan, DETECTOR_NAMES } from '@agentgate/masking';
import { maskingCorpus } from '../masking-corpus.js';
import { type LatencyStats, type ObservedBetween, observedBetween, summarize } from '../scenario-stats.js';
import { snapshotMetrics } from './stages.js';
import { type BenchContext, tokenFor } from './context.js';
import { runOk } from './proc.js';

export interface MaskingResults {
  cells: { perSecond: number; cells: number; meanChars: number; firedShare: number };
  /**
   * `addedMs`: masked minus unmasked over adjacent pairs (drift cancels out), the pairs taken in
   * both orders (`maskedFirstMs`, `unmaskedFirstMs`: each order's median) and the two averaged,
   * so that whatever the first query of a pair leaves to the second cancels out too.
   */
  hundredRows: {
    masked: LatencyStats;
    unmasked: LatencyStats;
    addedMs: number;
    maskedFirstMs?: number;
    unmaskedFirstMs?: number;
    /**
     * The ingress's own account of the masked results (agentgate_pg_masking_seconds, label
     * rows<=100, read before and after the pairs): time spent naming the columns and masking
     * the rows, which run in line with relaying them.
     */
    inIngress?: ObservedBetween;
    /**
     * The same results relayed by the ingress, from the target's first reply to its completion
     * (agentgate_pg_statement_stage_seconds, `relay+masking` for the masked ones, `relay` for
     * the others): the part of the path masking runs in, side by side.
     */
    relay?: { masked: ObservedBetween; unmasked: ObservedBetween };
    /**
     * The same rows masked in the bench's own process by the ingress's row masking
     * (bench/row-masking-idle.mjs): back to back, and each after an idle pause like the one
     * between a client's statements. What masking costs warm, and what a sporadic burst pays.
     */
    inProcess?: { backToBackMs: number; afterIdleMs: number; gapMs: number; results: number };
    query: string;
  };
  /** The same for an empty result of the same query: the part of the added time not spent on rows. */
  zeroRows?: { addedMs: number; maskedFirstMs?: number; unmaskedFirstMs?: number; query: string };
  bulk: {
    rows: number;
    maskedSeconds: number;
    unmaskedSeconds: number;
    ingressPeakRssMiB: number;
    ingressRssBeforeMiB: number;
    command: string;
  };
}

function cellsPerSecond(seconds: number): MaskingResults['cells'] {
  const corpus = maskingCorpus(100_000);
  const plan = compileMaskingPlan(
    { version: 1, rules: [], detectors: [...DETECTOR_NAMES], defaultDetectorStrategy: { kind: 'redact' } },
    { current: { id: 'bench', secret: new Uint8Array(32).fill(1) } },
  );
  let fired = 0;
  const pass = (): void => {
    for (const cell of corpus) if (plan.maskText(cell).fired.length > 0) fired++;
  };
  pass();
  fired = 0;
  let cells = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    pass();
    cells += corpus.length;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const meanChars = corpus.reduce((s, c) => s + c.length, 0) / corpus.length;
  return { perSecond: cells / elapsed, cells, meanChars, firedShare: fired / cells };
}

function client(ctx: BenchContext, identity: string): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port: ctx.ingressPort,
    database: 'demo',
    user: identity,
    password: tokenFor(ctx, identity),
    application_name: `${ctx.runId}_masking`,
    ssl: { ca: readFileSync(ctx.caFile, 'utf8'), servername: 'localhost' },
  });
}

/**
 * The same query as demo-agent (masked) and report-agent (unmasked), alternating one after the
 * other on two sessions, so both see the same machine at the same moment. Every other pair
 * starts with the unmasked query: on this shared machine each order's median moved by up to half
 * a millisecond in opposite directions over 200 pairs, which their average cancels.
 */
async function latencies(
  ctx: BenchContext,
  sql: string,
  n: number,
  rows: number,
): Promise<{ masked: LatencyStats; unmasked: LatencyStats; addedMs: number; maskedFirstMs: number; unmaskedFirstMs: number }> {
  const masked = client(ctx, 'demo-agent');
  const unmasked = client(ctx, 'report-agent');
  await masked.connect();
  await unmasked.connect();
  try {
    const timed = async (c: pg.Client, into: number[]): Promise<void> => {
      const t = performance.now();
      const r = await c.query(sql);
      into.push(performance.now() - t);
      if (r.rowCount !== rows) throw new Error(`expected ${rows} rows, got ${r.rowCount}`);
    };
    const warm: number[] = [];
    for (let i = 0; i < 20; i++) {
      await timed(masked, warm);
      await timed(unmasked, warm);
    }
    const m: number[] = [];
    const u: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        await timed(masked, m);
        await timed(unmasked, u);
      } else {
        await timed(unmasked, u);
        await timed(masked, m);
      }
    }
    const pairs = m.map((t, i) => t - u[i]!);
    const maskedFirstMs = summarize(pairs.filter((_, i) => i % 2 === 0)).p50;
    const unmaskedFirstMs = summarize(pairs.filter((_, i) => i % 2 === 1)).p50;
    return { masked: summarize(m), unmasked: summarize(u), addedMs: (maskedFirstMs + unmaskedFirstMs) / 2, maskedFirstMs, unmaskedFirstMs };
  } finally {
    await Promise.all([masked.end(), unmasked.end()]);
  }
}

/** The ingress's resident set in MiB, from /proc (its pid from the stack's run directory). */
function ingressRssMiB(ctx: BenchContext): number {
  const pid = readFileSync(join(ctx.root, '.stack/run/ingress-postgres.pid'), 'utf8').trim();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

export async function masking(ctx: BenchContext): Promise<MaskingResults> {
  const cells = cellsPerSecond(ctx.quick ? 1 : 3);
  ctx.log(`masking: ${Math.round(cells.perSecond)} cells/s`);
  const query = 'SELECT * FROM public.customers WHERE id BETWEEN 1 AND 100';
  const metricsBefore = await snapshotMetrics(ctx.ingressAdminPort);
  const hundred = await latencies(ctx, query, ctx.quick ? 100 : 1000, 100);
  const metricsAfter = await snapshotMetrics(ctx.ingressAdminPort);
  const inIngress = observedBetween(metricsBefore.text, metricsAfter.text, 'agentgate_pg_masking_seconds', 'rows<=100');
  const relayed = (label: string): ObservedBetween =>
    observedBetween(metricsBefore.text, metricsAfter.text, 'agentgate_pg_statement_stage_seconds', label);
  const relay = { masked: relayed('relay+masking'), unmasked: relayed('relay') };
  const { masked, unmasked, addedMs } = hundred;
  ctx.log(
    `masking: 100 rows p50 ${masked.p50.toFixed(2)} ms masked, ${unmasked.p50.toFixed(2)} ms unmasked, added ${addedMs.toFixed(2)} ms (masked first ${hundred.maskedFirstMs.toFixed(2)}, unmasked first ${hundred.unmaskedFirstMs.toFixed(2)})`,
  );
  ctx.log(
    `masking: 100 rows relayed by the ingress in ${relay.masked.p50.toFixed(3)} ms p50 masked, ${relay.unmasked.p50.toFixed(3)} ms unmasked`,
  );
  ctx.log(
    `masking: 100 rows masked in the ingress in ${inIngress.p50.toFixed(3)} ms p50, ${inIngress.p90.toFixed(3)} ms p90, ${inIngress.meanMs.toFixed(3)} ms mean (${inIngress.count} results)`,
  );
  const idle = await runOk('node', [join(ctx.root, 'bench/row-masking-idle.mjs'), '15', ctx.quick ? '100' : '300', '--json'], {
    env: ctx.env,
  });
  const inProcess = JSON.parse(idle.stdout.trim().split('\n').pop() ?? '{}') as NonNullable<MaskingResults['hundredRows']['inProcess']>;
  ctx.log(
    `masking: the same 100 rows masked in process in ${inProcess.backToBackMs.toFixed(3)} ms p50 back to back, ${inProcess.afterIdleMs.toFixed(3)} ms p50 after ${inProcess.gapMs} ms idle`,
  );
  const emptyQuery = 'SELECT * FROM public.customers WHERE id BETWEEN 1 AND 0';
  const empty = await latencies(ctx, emptyQuery, ctx.quick ? 100 : 600, 0);
  ctx.log(
    `masking: 0 rows added ${empty.addedMs.toFixed(2)} ms (masked first ${empty.maskedFirstMs.toFixed(2)}, unmasked first ${empty.unmaskedFirstMs.toFixed(2)})`,
  );

  const rows = ctx.quick ? 100_000 : 1_000_000;
  const sql = `select g, 'row number '||g||' of the masked result' from generate_series(1,${rows}) g`;
  const base = `host=127.0.0.1 port=${ctx.ingressPort} sslmode=require application_name=${ctx.runId}_masking_bulk`;
  const unmaskedRun = await runOk('psql', ['-X', '-q', '-At', '-c', sql, `${base} dbname=scratch user=dba-agent`], {
    env: { ...ctx.env, PGPASSWORD: ctx.token },
    keepStdout: false,
  });
  const before = ingressRssMiB(ctx);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, ingressRssMiB(ctx));
  }, 50);
  let maskedRun: Awaited<ReturnType<typeof runOk>>;
  try {
    maskedRun = await runOk('psql', ['-X', '-q', '-At', '-c', sql, `${base} dbname=demo user=demo-agent`], {
      env: { ...ctx.env, PGPASSWORD: tokenFor(ctx, 'demo-agent') },
      keepStdout: false,
    });
  } finally {
    clearInterval(sampler);
  }
  if (maskedRun.stdoutBytes !== unmaskedRun.stdoutBytes) {
    throw new Error(
      `masked and unmasked results differ in size (${maskedRun.stdoutBytes} vs ${unmaskedRun.stdoutBytes}) though nothing in them is a secret`,
    );
  }
  ctx.log(
    `masking: ${rows} rows ${(maskedRun.ms / 1000).toFixed(2)} s masked, ${(unmaskedRun.ms / 1000).toFixed(2)} s unmasked, ingress RSS peak ${peak.toFixed(0)} MiB`,
  );
  return {
    cells,
    hundredRows: {
      masked,
      unmasked,
      addedMs,
      maskedFirstMs: hundred.maskedFirstMs,
      unmaskedFirstMs: hundred.unmaskedFirstMs,
      inIngress,
      relay,
      inProcess,
      query,
    },
    zeroRows: { addedMs: empty.addedMs, maskedFirstMs: empty.maskedFirstMs, unmaskedFirstMs: empty.unmaskedFirstMs, query: emptyQuery },
    bulk: {
      rows,
      maskedSeconds: maskedRun.ms / 1000,
      unmaskedSeconds: unmaskedRun.ms / 1000,
      ingressPeakRssMiB: peak,
      ingressRssBeforeMiB: before,
      command: `psql -X -q -At -c "${sql}" "host=127.0.0.1 port=${ctx.ingressPort} dbname=demo user=demo-agent sslmode=require" (masked) and the same with dbname=scratch user=dba-agent (no plan)`,
    },
  };
}
