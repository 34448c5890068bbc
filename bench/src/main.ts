// npm run bench [-- --quick]: the cost of audit-first, measured side by side in one run.
// Every figure carries the command that produced it. Runs against the local stack.
// npm run bench -- --scenarios [--quick] [--only floor,fleet,...] [--fleet N]: the scenarios of
// issue 12 alone (bench/src/scenarios); a full run includes them.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouse, quoteString } from '@agentgate/clickhouse';
import { GENESIS, chainEvent, sqlDetail, type AuditEventOf } from '@agentgate/events';
import { createTokenVerifier } from '@agentgate/identity';
import { compilePolicy, decide, evaluate, initialUsage, policyInput, readPolicyDir, type EngineState } from '@agentgate/policy';
import { loadSqlParser, type SqlParser } from '@agentgate/sql';
import { parsePgbench, quantile, ratio, table } from './report.js';
import {
  type BenchContext,
  renderScenarios,
  renderStageTable,
  runScenarios,
  SCENARIOS,
  type ScenarioName,
  type StageTable,
  snapshotMetrics,
  stageTable,
} from './scenarios/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const quick = process.argv.includes('--quick');
const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const scenariosOnly = process.argv.includes('--scenarios');
const onlyScenarios = argValue('--only')?.split(',') as ScenarioName[] | undefined;
for (const n of onlyScenarios ?? [])
  if (!SCENARIOS.includes(n)) throw new Error(`--only: unknown scenario ${n} (one of ${SCENARIOS.join(', ')})`);
const fleetSize = Number(argValue('--fleet') ?? (quick ? 100 : 500));
const seconds = quick ? 3 : Number(env['AG_BENCH_SECONDS'] ?? 10);
const runId = `bench_${Date.now().toString(36)}`;
const stack = {
  ingressPort: Number(env['AG_PG_INGRESS_PORT'] ?? 15432),
  targetPort: Number(env['AG_TARGET_PG_PORT'] ?? 25432),
  bouncerPort: 16432,
  clickhouseUrl: env['AG_CLICKHOUSE_URL'] ?? 'http://127.0.0.1:18123',
  db: env['AG_CLICKHOUSE_DATABASE'] ?? 'agentgate',
  secrets: env['AG_SECRETS_DIR'] ?? join(ROOT, '.stack/secrets'),
};
const clickhouseAdminPassword = (): string => readFileSync(join(stack.secrets, 'clickhouse-admin.password'), 'utf8').trim();
// The direct and PgBouncer baselines log in as scratch's own role, as the gateway does for dba-agent.
const TARGET_ROLE = 'agentgate_scratch';
const targetPassword = readFileSync(join(stack.secrets, 'target-scratch-password'), 'utf8').trim();
const token = execFileSync('node', [join(ROOT, 'scripts/token.mjs'), 'dba-agent', '--ttl', '7200'], { encoding: 'utf8' }).trim();

type Path = 'agentgate' | 'direct' | 'pgbouncer';
const paths: Record<Path, { conninfo: (app: string) => string; password: string; shown: string }> = {
  agentgate: {
    conninfo: (app) => `host=127.0.0.1 port=${stack.ingressPort} dbname=scratch user=dba-agent sslmode=require application_name=${app}`,
    password: token,
    shown: `PGPASSWORD=$(npm run -s token -- dba-agent) pgbench ... "host=127.0.0.1 port=${stack.ingressPort} dbname=scratch user=dba-agent sslmode=require"`,
  },
  direct: {
    conninfo: (app) => `host=127.0.0.1 port=${stack.targetPort} dbname=scratch user=${TARGET_ROLE} sslmode=require application_name=${app}`,
    password: targetPassword,
    shown: `PGPASSWORD=<target password> pgbench ... "host=127.0.0.1 port=${stack.targetPort} dbname=scratch user=${TARGET_ROLE} sslmode=require"`,
  },
  pgbouncer: {
    conninfo: (app) =>
      `host=127.0.0.1 port=${stack.bouncerPort} dbname=scratch user=${TARGET_ROLE} sslmode=disable application_name=${app}`,
    password: '',
    shown: `pgbench ... "host=127.0.0.1 port=${stack.bouncerPort} dbname=scratch user=${TARGET_ROLE}"`,
  },
};

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const ingressAdminPort = Number(env['AG_INGRESS_POSTGRES_ADMIN_PORT'] ?? 15480);
const benchContext: BenchContext = {
  root: ROOT,
  quick,
  runId,
  seconds,
  env,
  ingressPort: stack.ingressPort,
  ingressAdminPort,
  processorAdminPort: Number(env['AG_POLICY_PROCESSOR_ADMIN_PORT'] ?? 15481),
  targetPort: stack.targetPort,
  httpIngressPort: Number(env['AG_HTTP_INGRESS_PORT'] ?? 18443),
  registryPort: Number(env['AG_REGISTRY_PORT'] ?? 18081),
  sshIngressPort: Number(env['AG_SSH_INGRESS_PORT'] ?? 12222),
  targetSshPort: Number(env['AG_TARGET_SSH_PORT'] ?? 22222),
  stackDir: env['AG_STACK_DIR'] ?? join(ROOT, '.stack'),
  kafkaBrokers: (env['AG_KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(','),
  clickhouseUrl: stack.clickhouseUrl,
  clickhouseDatabase: stack.db,
  secretsDir: stack.secrets,
  caFile: env['AG_TLS_CA_FILE'] ?? join(ROOT, '.stack/tls/ca.crt'),
  token,
  targetPassword,
  log,
};

function pgbench(path: Path, args: string[], app: string, cwd?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('pgbench', [...args, paths[path].conninfo(app)], { cwd, env: { ...env, PGPASSWORD: paths[path].password } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`pgbench ${args.join(' ')} via ${path} failed:\n${out.slice(-2000)}`)),
    );
  });
}

// ------------------------------------------------------------------ PgBouncer, started by the bench

function startPgBouncer(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'ag-pgbouncer-'));
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `scratch = host=127.0.0.1 port=${stack.targetPort} dbname=scratch user=${TARGET_ROLE} password=${targetPassword}`,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${stack.bouncerPort}`,
      // The baseline is a plain proxy: no client auth, session pooling (prepared statements work).
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 40',
      'server_tls_sslmode = require',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  writeFileSync(join(dir, 'users.txt'), `"${TARGET_ROLE}" ""\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['-R', 'postgres', dir]);
  // PgBouncer refuses to run as root.
  const command = asRoot
    ? ['runuser', '-u', 'postgres', '--', 'pgbouncer', '-d', join(dir, 'pgbouncer.ini')]
    : ['pgbouncer', '-d', join(dir, 'pgbouncer.ini')];
  execFileSync(command[0]!, command.slice(1));
  for (let i = 0; i < 50; i++) {
    if (spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(stack.bouncerPort)]).status === 0) break;
    execFileSync('sleep', ['0.1']);
  }
  return () => {
    try {
      const pid = Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8'));
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    execFileSync('sleep', ['0.5']);
    rmSync(dir, { recursive: true, force: true });
  };
}

// ------------------------------------------------------------------ CPU per process

function stackPids(): Record<string, number> {
  const out: Record<string, number> = {};
  const runDir = join(ROOT, '.stack/run');
  for (const f of readdirSync(runDir).filter((x) => x.endsWith('.pid')))
    out[f.replace(/\.pid$/, '')] = Number(readFileSync(join(runDir, f), 'utf8'));
  return out;
}

function cpuTicks(pid: number): number {
  // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (threads included).
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function targetBackendTicks(): number {
  let sum = 0;
  for (const line of execFileSync('ps', ['-u', 'postgres', '-o', 'pid='], { encoding: 'utf8' }).split('\n')) {
    const pid = Number(line.trim());
    if (pid) sum += cpuTicks(pid);
  }
  return sum;
}

// ------------------------------------------------------------------ the runs

interface PgbenchResult {
  path: Path;
  workload: string;
  mode: string;
  clients: number;
  tps: number;
  latencyMs: number;
  failed: number;
  command: string;
}

async function runMatrix(): Promise<PgbenchResult[]> {
  const workloads = quick
    ? [['select-only', '-S']]
    : [
        ['select-only', '-S'],
        ['tpcb-like', ''],
      ];
  const clientCounts = quick ? [1, 8] : [1, 8, 32];
  const results: PgbenchResult[] = [];
  for (const [workload, flag] of workloads) {
    for (const mode of ['prepared', 'simple']) {
      for (const clients of clientCounts) {
        for (const path of ['direct', 'pgbouncer', 'agentgate'] as Path[]) {
          const args = [
            '-n',
            '-M',
            mode,
            '-c',
            String(clients),
            '-j',
            String(Math.min(clients, 2)),
            '-T',
            String(seconds),
            ...(flag ? [flag] : []),
          ];
          const r = parsePgbench(await pgbench(path, args, `${runId}_${path}`));
          results.push({ path, workload: workload!, mode, clients, ...r, command: `${paths[path].shown.replace('...', args.join(' '))}` });
          log(`${workload} ${mode} c=${clients} ${path}: ${r.tps.toFixed(0)} tps, ${r.latencyMs} ms`);
        }
      }
    }
  }
  return results;
}

interface LatencyResult {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

async function perStatementLatency(path: Path): Promise<LatencyResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ag-bench-log-'));
  await pgbench(
    path,
    ['-n', '-S', '-M', 'prepared', '-c', '1', '-T', String(seconds), '-l', '--log-prefix', join(dir, 'tx')],
    `${runId}_lat_${path}`,
    dir,
  );
  const latenciesMs: number[] = [];
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const cols = line.split(' ');
      if (cols.length > 2) latenciesMs.push(Number(cols[2]) / 1000); // third column: latency in microseconds
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return { p50: quantile(latenciesMs, 0.5), p95: quantile(latenciesMs, 0.95), p99: quantile(latenciesMs, 0.99), count: latenciesMs.length };
}

async function stageBreakdown(app: string): Promise<Record<string, LatencyResult>> {
  const ch = createClickHouse({ url: stack.clickhouseUrl, database: 'default', username: 'default', password: clickhouseAdminPassword() });
  await new Promise((r) => setTimeout(r, 2000)); // let the projector catch up
  const r = await ch.query({
    query: `SELECT request_id, event_type, time_us, payload_json FROM ${stack.db}.events FINAL
            WHERE session_id IN (SELECT session_id FROM ${stack.db}.events WHERE event_type = 'SessionOpened' AND payload_json LIKE ${quoteString(`%${app}%`)})
              AND event_type IN ('RequestObserved', 'VerdictIssued', 'ResponseObserved')`,
    format: 'JSONEachRow',
  });
  const rows = await r.json<{ request_id: string; event_type: string; time_us: string; payload_json: string }>();
  await ch.close();
  const byRequest = new Map<string, { req?: number; ver?: boolean; resp?: number; upstreamUs?: number }>();
  for (const row of rows) {
    const e = byRequest.get(row.request_id) ?? {};
    if (row.event_type === 'RequestObserved') e.req = Number(row.time_us);
    if (row.event_type === 'VerdictIssued') e.ver = true;
    if (row.event_type === 'ResponseObserved') {
      e.resp = Number(row.time_us);
      e.upstreamUs = (JSON.parse(row.payload_json) as { durationUs: number }).durationUs;
    }
    byRequest.set(row.request_id, e);
  }
  // A verdict carries its request's time (verdicts are deterministic), so the verdict round
  // trip is one stage here; the processor's share is agentgate_policy_request_to_verdict_seconds.
  const stages: Record<string, number[]> = {
    'request recorded -> forwarded (produce ack, processor consume, decide, verdict produce, verdict delivered to the ingress)': [],
    'upstream (target executes, result streamed)': [],
    'request recorded -> response recorded (all of the above + response write)': [],
  };
  const keys = Object.keys(stages);
  for (const e of byRequest.values()) {
    if (e.req === undefined || !e.ver || e.resp === undefined || e.upstreamUs === undefined) continue;
    const forwardedAt = e.resp - e.upstreamUs;
    stages[keys[0]!]!.push(Math.max(0, forwardedAt - e.req) / 1000);
    stages[keys[1]!]!.push(e.upstreamUs / 1000);
    stages[keys[2]!]!.push((e.resp - e.req) / 1000);
  }
  return Object.fromEntries(
    Object.entries(stages).map(([k, v]) => [k, { p50: quantile(v, 0.5), p95: quantile(v, 0.95), p99: quantile(v, 0.99), count: v.length }]),
  );
}

async function throughputWithCpu(): Promise<{
  statementsPerSecond: number;
  cpuPercent: Record<string, number>;
  command: string;
  projection: { eventsPerSecond: number; lagP99Ms: number };
}> {
  const clients = 32;
  const pids = stackPids();
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuTicks(p)]));
  const pgBefore = targetBackendTicks();
  const app = `${runId}_tput`;
  const args = ['-n', '-S', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(seconds)];
  const started = Date.now();
  const r = parsePgbench(await pgbench('agentgate', args, app));
  const elapsedS = (Date.now() - started) / 1000;
  const ticksPerSecond = 100;
  const cpuPercent: Record<string, number> = {};
  for (const [k, p] of Object.entries(pids)) cpuPercent[k] = Math.round(((cpuTicks(p) - before[k]!) / ticksPerSecond / elapsedS) * 100);
  cpuPercent['postgres (all target processes)'] = Math.round(((targetBackendTicks() - pgBefore) / ticksPerSecond / elapsedS) * 100);
  delete cpuPercent['postgres'];
  // Projection under that load: events per second and lag (projected_at has second resolution).
  const ch = createClickHouse({ url: stack.clickhouseUrl, database: 'default', username: 'default', password: clickhouseAdminPassword() });
  await new Promise((res) => setTimeout(res, 3000));
  const q = await ch.query({
    query: `SELECT count() AS n, quantile(0.99)(toUInt64(projected_at) * 1000000 - time_us) AS lag_us, max(time_us) - min(time_us) AS span_us
            FROM ${stack.db}.events WHERE session_id IN
              (SELECT session_id FROM ${stack.db}.events WHERE event_type = 'SessionOpened' AND payload_json LIKE ${quoteString(`%${app}%`)})`,
    format: 'JSONEachRow',
  });
  const [p] = await q.json<{ n: string; lag_us: number; span_us: string }>();
  await ch.close();
  return {
    statementsPerSecond: r.tps,
    cpuPercent,
    command: paths.agentgate.shown.replace('...', args.join(' ')),
    projection: {
      eventsPerSecond: Number(p?.n ?? 0) / Math.max(1, Number(p?.span_us ?? 1) / 1e6),
      lagP99Ms: Math.max(0, Number(p?.lag_us ?? 0) / 1000),
    },
  };
}

interface PolicyBench {
  rules: number;
  version: string;
  /** evaluate() alone (the decision), on statements already parsed and analysed. */
  decisionsPerSecond: number;
  /** decide(): the decision plus its VerdictIssued event, hashed and chained onto the request. */
  verdictsPerSecond: number;
  /** parse + facts + evaluate, every statement text new (literals vary): the worst case. */
  parseAndDecideUncachedPerSecond: number;
  /** parse + facts + evaluate, statement texts repeating as an agent's do (the parser's exact-text cache). */
  parseAndDecideCachedPerSecond: number;
  /** parse + facts + evaluate, every text new but of one shape (literals vary): the shape cache. */
  parseAndDecideShapedPerSecond: number;
}

/**
 * The demo policy grown to 50 rules with rules that never match (so every one is evaluated),
 * deciding a SELECT of demo-agent on demo, the way the processor does: decide() on the
 * request with its statement facts.
 */
async function policyDecisions(): Promise<PolicyBench> {
  const files = await readPolicyDir(join(ROOT, 'deploy/policies/demo'));
  const demoRules = (
    files
      .map((f) => f.text)
      .join('\n')
      .match(/^ {2}- id: /gm) ?? []
  ).length;
  const padding = Array.from(
    { length: Math.max(0, 50 - demoRules) },
    (_, i) => `  - id: bench-never-${i}
    description: never matches (bench padding)
    match:
      identity: { groups: [no-such-group-${i}] }
      sql: { reads: [bench_${i}.*] }
    action: deny
    message: never
`,
  ).join('');
  const compiled = compilePolicy([...files, { name: 'zz-bench-padding.yaml', text: `rules:\n${padding}` }], { name: 'demo' });
  if (!compiled.ok) throw new Error(`bench policy does not compile: ${JSON.stringify(compiled.errors)}`);
  const state: EngineState = { policy: compiled.policy, usage: initialUsage() };
  const actor = { subject: 'demo-agent', issuer: 'i', groups: ['agents'], actChain: [], tokenId: null, authMethod: 'none' };
  const requestFor = (sql: string): AuditEventOf<'RequestObserved'> =>
    chainEvent(
      {
        eventId: '00000000-0000-4000-8000-000000000001',
        eventType: 'RequestObserved',
        sessionId: 's',
        timeUs: 1,
        producer: 'bench',
        traceId: null,
        actor,
        payload: { requestId: 'r', protocol: 'postgres', connection: 'demo', detail: sqlDetail(sql) },
      },
      GENESIS,
    ) as AuditEventOf<'RequestObserved'>;
  const decideSql = (parser: SqlParser, sql: string, request: AuditEventOf<'RequestObserved'>): string => {
    const c = parser.classify(sql);
    const statements = c.ok ? c.statements.map((st) => st.facts) : 'unparseable';
    const [verdict] = decide(
      { type: 'DecideRequest', subject: { request, classification: c, sql: { statements, searchPathKnown: true } } },
      state,
    );
    return (verdict as AuditEventOf<'VerdictIssued'>).payload.decision;
  };
  const sqlOf = (i: number): string => `select id, name from public.customers where id = ${i}`;
  const plain = await loadSqlParser();
  const cached = await loadSqlParser({ maxCacheEntries: 10_000 });
  const shaped = await loadSqlParser({ maxShapeEntries: 10_000 });
  const request = requestFor(sqlOf(42));
  if (decideSql(plain, sqlOf(42), request) !== 'allow') throw new Error('the bench statement must be allowed by the demo policy');
  const c = plain.classify(sqlOf(42));
  const subject = {
    request,
    classification: c,
    sql: { statements: c.ok ? c.statements.map((st) => st.facts) : ('unparseable' as const), searchPathKnown: true },
  };
  const input = policyInput(subject);
  const rate = (n: number, body: (i: number) => void): number => {
    for (let i = 0; i < Math.min(n, 5_000); i++) body(i); // warm-up: compiled code, not the interpreter
    const t = performance.now();
    for (let i = 0; i < n; i++) body(i);
    return n / ((performance.now() - t) / 1000);
  };
  const n = quick ? 20_000 : 100_000;
  const evaluateSql = (parser: SqlParser, sql: string): string => {
    const parsed = parser.classify(sql);
    const statements = parsed.ok ? parsed.statements.map((st) => st.facts) : 'unparseable';
    return evaluate(compiled.policy, { ...input, sql: { statements, searchPathKnown: true } }, state.usage).decision;
  };
  return {
    rules: compiled.policy.rules.length,
    version: compiled.policy.version,
    decisionsPerSecond: rate(n, () => evaluate(compiled.policy, input, state.usage)),
    verdictsPerSecond: rate(n / 5, () => decide({ type: 'DecideRequest', subject }, state)),
    parseAndDecideUncachedPerSecond: rate(n / 10, (i) => evaluateSql(plain, sqlOf(i))),
    // 100 distinct statements, repeating: an agent's workload is a few shapes with a few values.
    parseAndDecideCachedPerSecond: rate(n, (i) => evaluateSql(cached, sqlOf(i % 100))),
    // Every text new, one shape: the values change, the statement does not.
    parseAndDecideShapedPerSecond: rate(n, (i) => evaluateSql(shaped, sqlOf(i + 1_000_000))),
  };
}

async function tokenVerifications(): Promise<number> {
  const identity = JSON.parse(readFileSync(join(ROOT, 'deploy/identity.json'), 'utf8')) as { issuers: never[] };
  const verifier = createTokenVerifier({ issuers: identity.issuers });
  const agentToken = execFileSync('node', [join(ROOT, 'scripts/token.mjs'), 'demo-agent'], { encoding: 'utf8' }).trim();
  await verifier.verify(agentToken); // warms the JWKS cache
  const n = quick ? 2_000 : 10_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) await verifier.verify(agentToken);
  return n / ((performance.now() - t) / 1000);
}

// ------------------------------------------------------------------ main

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

async function main(): Promise<void> {
  if (process.argv.includes('--policy-only')) {
    // npm run bench -- --policy-only: the decision figures alone.
    const policy = await policyDecisions();
    console.log(
      table(
        ['measure', 'per second', 'how'],
        [
          [`evaluate(), ${policy.rules}-rule policy (${policy.version})`, fmt(policy.decisionsPerSecond, 0), 'on an analysed SELECT'],
          ['decide(): decision + hashed verdict event', fmt(policy.verdictsPerSecond, 0), 'as the processor runs it'],
          [
            'parse + facts + evaluate, every text new, one shape',
            fmt(policy.parseAndDecideShapedPerSecond, 0),
            'shape cache (sql-shape.ts)',
          ],
          ['parse + facts + evaluate, statements repeating', fmt(policy.parseAndDecideCachedPerSecond, 0), 'exact-text parse cache'],
          ['parse + facts + evaluate, every statement new', fmt(policy.parseAndDecideUncachedPerSecond, 0), 'no cache hit'],
        ],
      ),
    );
    return;
  }
  if (scenariosOnly) {
    await scenariosMain();
    return;
  }
  const started = new Date();
  log(`mode ${quick ? 'quick' : 'full'}, ${seconds} s per pgbench run, run id ${runId}`);
  log('initialising pgbench tables on scratch (direct)');
  await pgbench('direct', ['-i', '-s', '4', '-q'], `${runId}_init`);
  const stopBouncer = startPgBouncer();
  let matrix: PgbenchResult[];
  let latency: Record<Path, LatencyResult>;
  let histogramStages: StageTable | undefined;
  try {
    matrix = await runMatrix();
    const direct = await perStatementLatency('direct');
    const pgbouncer = await perStatementLatency('pgbouncer');
    // The ingress's own stage histograms, read around the 1-client run through it.
    const before = await snapshotMetrics(ingressAdminPort).catch(() => undefined);
    const agentgate = await perStatementLatency('agentgate');
    const after = await snapshotMetrics(ingressAdminPort).catch(() => undefined);
    if (before && after) histogramStages = stageTable(before, after);
    latency = { direct, pgbouncer, agentgate };
  } finally {
    stopBouncer();
  }
  const stages = await stageBreakdown(`${runId}_lat_agentgate`);
  const throughput = await throughputWithCpu();
  const policy = await policyDecisions();
  const verificationsPerSecond = await tokenVerifications();
  const scenarios = await runScenarios(benchContext, {
    only: (onlyScenarios ?? SCENARIOS).filter((n) => n !== 'stages'),
    fleetSize,
  });

  const results = {
    runId,
    started: started.toISOString(),
    quick,
    secondsPerRun: seconds,
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    matrix,
    latency,
    stages,
    throughput,
    policy,
    verificationsPerSecond,
    histogramStages,
    scenarios,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const resultFile = join(
    ROOT,
    'bench/results',
    `${started.toISOString().slice(0, 19).replace(/[:T]/g, '-')}${quick ? '-quick' : ''}.json`,
  );
  writeFileSync(resultFile, `${JSON.stringify(results, null, 2)}\n`);

  const find = (m: PgbenchResult, path: Path): PgbenchResult | undefined =>
    matrix.find((x) => x.path === path && x.workload === m.workload && x.mode === m.mode && x.clients === m.clients);
  const matrixRows = matrix
    .filter((m) => m.path === 'agentgate')
    .map((m) => {
      const d = find(m, 'direct');
      const b = find(m, 'pgbouncer');
      return [
        m.workload,
        m.mode,
        m.clients,
        fmt(d?.tps ?? NaN, 0),
        fmt(b?.tps ?? NaN, 0),
        fmt(m.tps, 0),
        ratio(m.tps, d?.tps),
        ratio(m.tps, b?.tps),
        fmt(d?.latencyMs ?? NaN, 2),
        fmt(m.latencyMs, 2),
        m.failed,
      ];
    });
  const addedP = (q: 'p50' | 'p95' | 'p99'): string => fmt(latency.agentgate[q] - latency.direct[q], 2);
  const md = [
    `## Run ${results.started} (${quick ? 'quick' : 'full'}, ${seconds} s per pgbench run, ${results.machine.cpus} cores: ${results.machine.model})`,
    '',
    `Command: \`npm run bench${quick ? ' -- --quick' : ''}\` (results: \`${resultFile.replace(`${ROOT}/`, '')}\`). The whole stack runs on this machine, alongside pgbench.`,
    '',
    '### pgbench: agentgate vs direct vs PgBouncer (same run)',
    '',
    table(
      [
        'workload',
        '-M',
        'clients',
        'direct tps',
        'PgBouncer tps',
        'agentgate tps',
        'agentgate/direct',
        'agentgate/PgBouncer',
        'direct ms',
        'agentgate ms',
        'failed',
      ],
      matrixRows,
    ),
    '',
    `Commands: ${[
      ...new Set(
        matrix.map((m) =>
          m.command
            .replace(/-c \d+ -j \d+/, '-c N -j J')
            .replace(/-M \w+/, '-M MODE')
            .replace(/ -S/, ' [-S]'),
        ),
      ),
    ]
      .map((c) => `\`${c}\``)
      .join('; ')}.`,
    '',
    '### Added latency per audited statement, 1 client (`pgbench -S -M prepared -c 1 -l`, per-transaction log)',
    '',
    table(
      ['path', 'p50 ms', 'p95 ms', 'p99 ms', 'statements'],
      (['direct', 'pgbouncer', 'agentgate'] as Path[]).map((p) => [
        p,
        fmt(latency[p].p50, 2),
        fmt(latency[p].p95, 2),
        fmt(latency[p].p99, 2),
        latency[p].count,
      ]),
    ),
    '',
    `Added by agentgate over direct: p50 ${addedP('p50')} ms, p95 ${addedP('p95')} ms, p99 ${addedP('p99')} ms (targets: p50 <= 2 ms, p99 <= 10 ms).`,
    '',
    'Stage breakdown from the timestamps carried in the events of that run (ClickHouse):',
    '',
    table(
      ['stage', 'p50 ms', 'p95 ms', 'p99 ms', 'n'],
      Object.entries(stages).map(([k, v]) => [k, fmt(v.p50, 2), fmt(v.p95, 2), fmt(v.p99, 2), v.count]),
    ),
    '',
    `The same run from the ingress's own histograms (\`/metrics\` on its admin port ${ingressAdminPort}, read before and after; quantiles of the difference, interpolated within buckets; anything else the shared ingress served meanwhile is counted too, compare n with the ${latency.agentgate.count} statements):`,
    '',
    histogramStages ? renderStageTable(histogramStages) : "Not measured: the ingress's /metrics did not answer.",
    '',
    '### Throughput at 32 clients, with CPU per process',
    '',
    `\`${throughput.command}\`: **${fmt(throughput.statementsPerSecond, 0)} audited statements/s** (target >= 5,000).`,
    '',
    table(
      ['process', 'CPU % (100 = one core)'],
      Object.entries(throughput.cpuPercent)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, v]),
    ),
    '',
    `Projection under that load: ${fmt(throughput.projection.eventsPerSecond, 0)} events/s into ClickHouse, lag p99 ${fmt(throughput.projection.lagP99Ms, 0)} ms (projected_at has one-second resolution on ClickHouse 18.16; target < 2 s).`,
    '',
    '### Micro-benchmarks (in process)',
    '',
    table(
      ['what', 'result', 'how'],
      [
        [
          `policy decisions/s, ${policy.rules}-rule policy (${policy.version})`,
          fmt(policy.decisionsPerSecond, 0),
          'evaluate() on an analysed SELECT',
        ],
        ['verdicts/s (decision + hashed, chained VerdictIssued)', fmt(policy.verdictsPerSecond, 0), 'decide()'],
        [
          'parse + facts + decision/s, every text new, one shape',
          fmt(policy.parseAndDecideShapedPerSecond, 0),
          'shape cache (literals vary); target 50,000/s per core',
        ],
        ['parse + facts + decision/s, statements repeating', fmt(policy.parseAndDecideCachedPerSecond, 0), 'exact-text parse cache'],
        [
          'parse + facts + decision/s, every statement new',
          fmt(policy.parseAndDecideUncachedPerSecond, 0),
          'libpg-query parse + statementFacts + evaluate()',
        ],
        ['token verifications/s (cached JWKS)', fmt(verificationsPerSecond, 0), 'libs/identity verify() of a dev-IdP ES256 token'],
        ['masking cells/s', 'see the masking scenario', 'bench/src/scenarios/masking.ts'],
      ],
    ),
    '',
    SCENARIO_MARKER,
    renderScenarios(scenarios),
  ].join('\n');
  const docFile = join(ROOT, 'docs/benchmarks.md');
  let doc = '';
  try {
    doc = readFileSync(docFile, 'utf8');
  } catch {
    doc = '';
  }
  const marker = '<!-- bench:latest -->';
  if (!quick) {
    const head = doc.includes(marker) ? doc.slice(0, doc.indexOf(marker)) : '# Benchmarks\n\n';
    writeFileSync(docFile, `${head}${marker}\n${md}`);
  }
  process.stdout.write(`${md}\n`);
}

const SCENARIO_MARKER = '<!-- bench:scenarios -->';

/** npm run bench -- --scenarios: the scenarios alone; a full one replaces the scenarios part of docs/benchmarks.md. */
async function scenariosMain(): Promise<void> {
  const started = new Date();
  log(`scenarios, mode ${quick ? 'quick' : 'full'}, run id ${runId}, fleet ${fleetSize}`);
  const scenarios = await runScenarios(benchContext, { ...(onlyScenarios ? { only: onlyScenarios } : {}), fleetSize });
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const resultFile = join(
    ROOT,
    'bench/results',
    `${started.toISOString().slice(0, 19).replace(/[:T]/g, '-')}-scenarios${quick ? '-quick' : ''}.json`,
  );
  writeFileSync(resultFile, `${JSON.stringify({ runId, started: started.toISOString(), quick, scenarios }, null, 2)}\n`);
  const md = [
    `${SCENARIO_MARKER}`,
    renderScenarios(scenarios),
    '',
    `Run ${started.toISOString()} (${cpus().length} cores: ${cpus()[0]?.model}); results: \`${resultFile.replace(`${ROOT}/`, '')}\`.`,
    '',
  ].join('\n');
  const docFile = join(ROOT, 'docs/benchmarks.md');
  if (!quick && !onlyScenarios) {
    const doc = readFileSync(docFile, 'utf8');
    const head = doc.includes(SCENARIO_MARKER) ? doc.slice(0, doc.indexOf(SCENARIO_MARKER)) : `${doc.trimEnd()}\n\n`;
    writeFileSync(docFile, `${head}${md}`);
  }
  process.stdout.write(`${md}\n`);
}

await main();
