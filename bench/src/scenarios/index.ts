// Runs the scenarios of issue 12 in order; one that fails is reported as not measured and the
// others still run. Every extra instance a scenario starts is stopped by that scenario.
import { bulk } from './bulk.js';
import { connectSetup } from './connect.js';
import { consumers } from './consumers.js';
import { type BenchContext, conninfo, directQuery } from './context.js';
import { fleet } from './fleet.js';
import { httpLatency } from './http.js';
import { kafkaFloor } from './kafka-floor.js';
import { masking } from './masking.js';
import { mcpLatency } from './mcp.js';
import { migration } from './migration.js';
import { processors } from './processors.js';
import { runOk } from './proc.js';
import type { Outcome, ScenarioResults } from './render.js';
import { sshLatency } from './ssh.js';
import { waitForQuietStack } from './stack-cpu.js';
import { snapshotMetrics, type StageTable, stageTable } from './stages.js';

export { renderScenarios, renderStageTable, type ScenarioResults } from './render.js';
export type { BenchContext } from './context.js';
export { snapshotMetrics, stageTable, type StageTable } from './stages.js';

export const SCENARIOS = [
  'floor',
  'stages',
  'fleet',
  'migration',
  'bulk',
  'connect',
  'processors',
  'masking',
  'consumers',
  'http',
  'ssh',
  'mcp',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

async function attemptScenario<T>(
  ctx: BenchContext,
  name: ScenarioName,
  body: () => Promise<T>,
  settling: NonNullable<ScenarioResults['settling']>,
): Promise<Outcome<T>> {
  ctx.log(`scenario ${name}`);
  try {
    // What the scenario before left the stack to catch up on is not this scenario's to pay.
    const settled = await waitForQuietStack(ctx, name);
    settling[name] = settled;
    return { ok: true, value: await body() };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    ctx.log(`scenario ${name} failed: ${error}`);
    return { ok: false, error };
  }
}

/** pgbench's tables on scratch (the processors scenario reads them), created once. */
async function ensurePgbenchTables(ctx: BenchContext): Promise<void> {
  const [row] = await directQuery<{ t: string | null }>(ctx, `select to_regclass('public.pgbench_accounts')::text as t`);
  if (row?.t) return;
  const c = conninfo(ctx, 'direct', `${ctx.runId}_init`);
  await runOk('pgbench', ['-i', '-s', '4', '-q', c.conninfo], { env: { ...ctx.env, PGPASSWORD: c.password } });
}

/** The 1-client stage run of --scenarios: pgbench through the stack's ingress between two /metrics snapshots. */
async function stagesRun(ctx: BenchContext): Promise<{ table: StageTable; statements: number; command: string }> {
  await ensurePgbenchTables(ctx);
  const args = ['-n', '-S', '-M', 'prepared', '-c', '1', '-T', String(ctx.seconds)];
  const c = conninfo(ctx, 'agentgate', `${ctx.runId}_stages`);
  const before = await snapshotMetrics(ctx.ingressAdminPort);
  const r = await runOk('pgbench', [...args, c.conninfo], { env: { ...ctx.env, PGPASSWORD: c.password } });
  const after = await snapshotMetrics(ctx.ingressAdminPort);
  const statements = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? Number.NaN);
  return { table: stageTable(before, after), statements, command: c.shown.replace('psql', `pgbench ${args.join(' ')}`) };
}

export async function runScenarios(
  ctx: BenchContext,
  options: { only?: readonly ScenarioName[]; fleetSize: number; stages?: ScenarioResults['stages'] },
): Promise<ScenarioResults> {
  const want = (n: ScenarioName): boolean => !options.only || options.only.includes(n);
  const settling: NonNullable<ScenarioResults['settling']> = {};
  const r: ScenarioResults = { quick: ctx.quick, settling };
  const attempt = <T>(name: ScenarioName, body: () => Promise<T>): Promise<Outcome<T>> => attemptScenario(ctx, name, body, settling);
  if (want('floor')) r.kafkaFloor = await attempt('floor', () => kafkaFloor(ctx));
  // The full run measures stages on its own 1-client latency run and passes them in.
  if (options.stages) r.stages = options.stages;
  else if (want('stages')) r.stages = await attempt('stages', () => stagesRun(ctx));
  if (want('fleet')) r.fleet = await attempt('fleet', () => fleet(ctx, options.fleetSize));
  if (want('migration')) r.migration = await attempt('migration', () => migration(ctx));
  if (want('bulk')) r.bulk = await attempt('bulk', () => bulk(ctx));
  if (want('connect')) r.connect = await attempt('connect', () => connectSetup(ctx));
  if (want('processors'))
    r.processors = await attempt('processors', async () => {
      await ensurePgbenchTables(ctx);
      return processors(ctx);
    });
  if (want('masking')) r.masking = await attempt('masking', () => masking(ctx));
  if (want('consumers')) r.consumers = await attempt('consumers', () => consumers(ctx));
  if (want('http')) r.http = await attempt('http', () => httpLatency(ctx));
  if (want('ssh')) r.ssh = await attempt('ssh', () => sshLatency(ctx));
  if (want('mcp')) r.mcp = await attempt('mcp', () => mcpLatency(ctx));
  return r;
}
