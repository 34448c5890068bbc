// The scenarios' section of the report: one markdown table per scenario, each with the command
// that produced it. Pure: results in, markdown out.
import { ratio, table } from '../report.js';
import { added, type LatencyStats } from '../scenario-stats.js';
import type { BulkRun } from './bulk.js';
import type { ConnectRun } from './connect.js';
import { type ConsumersResult, MODE_SETTINGS } from './consumers.js';
import { COUNTED, type Settling } from './stack-cpu.js';
import type { FleetResult } from './fleet.js';
import type { HttpResult } from './http.js';
import type { KafkaFloorResult } from './kafka-floor.js';
import type { MaskingResults } from './masking.js';
import type { McpResult } from './mcp.js';
import type { MigrationRun } from './migration.js';
import type { ProcessorsResult } from './processors.js';
import type { SshResult } from './ssh.js';
import type { StageTable } from './stages.js';

/** Each scenario's result, or the error that stopped it (the others still run). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ScenarioResults {
  quick: boolean;
  kafkaFloor?: Outcome<KafkaFloorResult[]>;
  stages?: Outcome<{ table: StageTable; statements: number; command: string }>;
  fleet?: Outcome<FleetResult>;
  migration?: Outcome<MigrationRun[]>;
  bulk?: Outcome<BulkRun[]>;
  connect?: Outcome<ConnectRun[]>;
  processors?: Outcome<ProcessorsResult>;
  masking?: Outcome<MaskingResults>;
  consumers?: Outcome<ConsumersResult>;
  http?: Outcome<HttpResult>;
  ssh?: Outcome<SshResult>;
  mcp?: Outcome<McpResult>;
  /** How the stack had settled when each scenario started (absent in results of earlier runs). */
  settling?: Partial<Record<string, Settling>>;
}

export const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** The MCP gateway's target (p50 < 2 ms, p99 < 10 ms added over direct), met or not. */
export const MCP_TARGET = { p50Ms: 2, p99Ms: 10 };

function mcpTarget(runs: readonly { path: string; stats: LatencyStats }[]): string[] {
  const a = runs.find((x) => x.path === 'agentgate')?.stats;
  const d = runs.find((x) => x.path === 'direct')?.stats;
  if (!a || !d) return [];
  const met = a.p50 - d.p50 < MCP_TARGET.p50Ms && a.p99 - d.p99 < MCP_TARGET.p99Ms;
  return ['', `Target: added p50 < ${MCP_TARGET.p50Ms} ms and p99 < ${MCP_TARGET.p99Ms} ms: ${met ? 'met' : 'not met'}.`];
}

/** "Added by agentgate" over the direct run of the same scenario, p50 and p99. */
function addedOverDirect(runs: readonly { path: string; stats: LatencyStats }[]): string[] {
  const a = runs.find((x) => x.path === 'agentgate')?.stats;
  const d = runs.find((x) => x.path === 'direct')?.stats;
  return a && d ? ['', `Added by agentgate over direct: p50 ${added(a.p50, d.p50)} ms, p99 ${added(a.p99, d.p99)} ms.`] : [];
}

function section<T>(title: string, outcome: Outcome<T> | undefined, body: (v: T) => string[]): string[] {
  if (outcome === undefined) return [];
  const head = [`#### ${title}`, ''];
  if (!outcome.ok) return [...head, `Not measured in this run: ${outcome.error.split('\n')[0]}`, ''];
  return [...head, ...body(outcome.value), ''];
}

/** The stage table alone (also placed next to the event-based table of the full run). */
export function renderStageTable(t: StageTable): string {
  return table(
    ['histogram', 'label', 'p50 ms', 'p95 ms', 'p99 ms', 'n'],
    t.rows.map((r) => [r.metric, r.label, fmt(r.stats.p50, 2), fmt(r.stats.p95, 2), fmt(r.stats.p99, 2), r.stats.count]),
  );
}

/** How settled the stack was as each scenario began (what the scenario before left it to catch up on). */
function renderSettling(settling: ScenarioResults['settling']): string[] {
  const entries = Object.entries(settling ?? {}).filter((e): e is [string, Settling] => e[1] !== undefined);
  if (entries.length === 0) return [];
  const { maxCores, windowMs } = entries[0]![1];
  return [
    `Each scenario began once the stack's own processes (${COUNTED.join(', ')}) had kept fewer than ${fmt(maxCores, 2)} cores busy over ${fmt(windowMs / 1000, 0)} s, or after 5 minutes without (then \`no\` below): a scenario does not pay for the backlog of the one before.`,
    '',
    table(
      ['scenario', 'settled', 'cores busy at its start', 'waited s'],
      entries.map(([name, s]) => [name, s.settled ? 'yes' : 'no', fmt(s.coresBusy, 2), fmt(s.waitedMs / 1000, 0)]),
    ),
    '',
  ];
}

export function renderScenarios(r: ScenarioResults): string {
  const run = `npm run bench -- --scenarios${r.quick ? ' --quick' : ''}`;
  return [
    `### Scenarios (issue 12), each beside its baseline in the same run`,
    '',
    `Command for every table below: \`${run}\` (or as part of \`npm run bench${r.quick ? ' -- --quick' : ''}\`); each table names what it ran.`,
    '',
    ...renderSettling(r.settling),
    ...section('The floor: the bare kafkajs loop', r.kafkaFloor, (v) => [
      "A request produced with acks=all to `agentgate-bench-floor-request`, consumed and produced back (acks=all) to `agentgate-bench-floor-verdict`, consumed by the first side; one round trip at a time, on the stack's Kafka (SCRAM over TLS, as the services). No serde, no hash chain, no policy: what the verdict path cannot go below.",
      '',
      table(
        ['fetch max-wait', 'p50 ms', 'p95 ms', 'p99 ms', 'round trips'],
        v.map((x) => [`${x.maxWaitMs} ms`, fmt(x.stats.p50, 2), fmt(x.stats.p95, 2), fmt(x.stats.p99, 2), x.stats.count]),
      ),
      '',
      `Command: \`${run}\` (bench/src/scenarios/kafka-floor.ts, kafkajs via @agentgate/kafka createKafka as principal admin).`,
    ]),
    ...section("Stages from the ingress's own histograms (1 client)", r.stages, (v) => [
      `From \`/metrics\` of the ingress (admin port ${v.table.adminPort}) read before and after \`${v.command}\` (${v.statements} transactions): quantiles of the difference, interpolated within the histogram's buckets. Statements of anyone else using that ingress during the run are counted too (compare n with the transactions).`,
      '',
      renderStageTable(v.table),
    ]),
    ...section('Fleet: many agents, one statement a second each', r.fleet, (v) => [
      ...(v.note ? [`**Note:** ${v.note}.`, ''] : []),
      table(
        ['path', 'connections', 'p50 ms', 'p95 ms', 'p99 ms', 'statements', 'errors', 'connect all (s)'],
        v.runs.map((x) => [
          x.path,
          x.connections,
          fmt(x.stats.p50, 2),
          fmt(x.stats.p95, 2),
          fmt(x.stats.p99, 2),
          x.stats.count,
          x.errors,
          fmt(x.connectMs / 1000, 1),
        ]),
      ),
      '',
      (() => {
        const a = v.runs.find((x) => x.path === 'agentgate')?.stats;
        const d = v.runs.find((x) => x.path === 'direct')?.stats;
        return a && d ? `Added by agentgate: p50 ${added(a.p50, d.p50)} ms, p99 ${added(a.p99, d.p99)} ms.` : '';
      })(),
      '',
      `Command: \`${v.command}\`; connections open in waves of 25; the target's max_connections is ${v.maxConnections}.`,
    ]),
    ...section('Migration: statements one at a time in one session', r.migration, (v) => [
      table(
        ['path', 'statements', 'seconds', 'statements/s'],
        v.map((x) => [x.path, x.statements, fmt(x.seconds, 1), fmt(x.perSecond, 0)]),
      ),
      '',
      `agentgate/direct time: ${ratio(v.find((x) => x.path === 'agentgate')?.seconds, v.find((x) => x.path === 'direct')?.seconds)}. Commands: ${v.map((x) => `\`${x.command}\``).join('; ')}.`,
    ]),
    ...section('Bulk results with psql', r.bulk, (v) => [
      table(
        ['query', 'rows', 'direct s', 'agentgate s', 'agentgate/direct', 'stdout bytes', 'identical (sha256)'],
        v.map((x) => [
          x.kind === 'copy' ? 'COPY (...) TO STDOUT' : 'SELECT',
          x.rows,
          fmt(x.directSeconds, 2),
          fmt(x.agentgateSeconds, 2),
          ratio(x.agentgateSeconds, x.directSeconds),
          x.bytes,
          x.identical ? `yes (${x.sha256.slice(0, 12)}…)` : 'NO',
        ]),
      ),
      '',
      `Commands: ${v.map((x) => `\`${x.command}\``).join('; ')}; conninfo as in the migration (sslmode=require both ways).`,
    ]),
    ...section('Connection set-up (TLS on both hops)', r.connect, (v) => [
      table(
        ['path', 'p50 ms', 'p95 ms', 'p99 ms', 'connects'],
        v.map((x) => [x.path, fmt(x.stats.p50, 1), fmt(x.stats.p95, 1), fmt(x.stats.p99, 1), x.stats.count]),
      ),
      '',
      'Command: sequential node-postgres `connect()`, `select 1`, `end()` (bench/src/scenarios/connect.ts); the gateway verifies the token (cached JWKS), records SessionOpened, and logs in to the target over TLS with SCRAM.',
      ...v.flatMap((x) =>
        x.stages && x.stages.length > 0
          ? [
              '',
              "Where the gateway's set-up time goes (`agentgate_pg_connect_stage_seconds` on the ingress, before and after the run; from the token in hand; the `select 1` after it is an audited statement and not in these stages):",
              '',
              table(
                ['stage', 'p50 ms', 'p95 ms', 'p99 ms', 'n'],
                x.stages.map((st) => [st.stage, fmt(st.stats.p50, 2), fmt(st.stats.p95, 2), fmt(st.stats.p99, 2), st.stats.count]),
              ),
            ]
          : [],
      ),
    ]),
    ...section('1 vs 2 policy processors (pgbench select-only, prepared, 32 clients)', r.processors, (v) => [
      table(
        ['processors', 'tps', 'latency ms', 'failed', 'verdicts per processor'],
        v.runs.map((x) => [
          x.processors,
          fmt(x.tps, 0),
          fmt(x.latencyMs, 2),
          x.failed,
          x.verdictsByProcessor.map((n) => fmt(n, 0)).join(' + '),
        ]),
      ),
      '',
      `2/1: ${ratio(v.runs[1]?.tps, v.runs[0]?.tps)}. Command: \`${v.command}\`, then again with a second processor (same consumer group, its own AG_INSTANCE_ID and admin port) started and stopped by the bench. Verdicts per processor (\`agentgate_policy_verdicts_total\` before and after; the stack's processor first) show the partitions split; '-' tps means no transaction completed in the run.`,
    ]),
    ...section('Masking (issue 13), each beside its unmasked baseline', r.masking, (v) => [
      table(
        ['what', 'masked', 'unmasked', 'target'],
        [
          [
            `cells/s on one core, every detector on (${fmt(v.cells.meanChars, 1)} chars mean, ${fmt(v.cells.firedShare * 100, 1)}% fired)`,
            fmt(v.cells.perSecond, 0),
            '-',
            '1,000,000',
          ],
          [
            '100-row result of public.customers, p50 ms (p99)',
            `${fmt(v.hundredRows.masked.p50, 2)} (${fmt(v.hundredRows.masked.p99, 2)})`,
            `${fmt(v.hundredRows.unmasked.p50, 2)} (${fmt(v.hundredRows.unmasked.p99, 2)})`,
            `added < 1 ms: ${fmt(v.hundredRows.addedMs, 2)} ms`,
          ],
          ...(v.hundredRows.relay
            ? [
                [
                  'the same 100-row results relayed by the ingress (first reply -> completion), ms p50 (mean)',
                  `${fmt(v.hundredRows.relay.masked.p50, 3)} (${fmt(v.hundredRows.relay.masked.meanMs, 3)})`,
                  `${fmt(v.hundredRows.relay.unmasked.p50, 3)} (${fmt(v.hundredRows.relay.unmasked.meanMs, 3)})`,
                  `added < 1 ms: ${fmt(v.hundredRows.relay.masked.p50 - v.hundredRows.relay.unmasked.p50, 3)} ms`,
                ],
              ]
            : []),
          ...(v.hundredRows.inIngress
            ? [
                [
                  'the same 100-row results: time masking took in the ingress, ms p50 (p90), mean',
                  `${fmt(v.hundredRows.inIngress.p50, 3)} (${fmt(v.hundredRows.inIngress.p90, 3)}), ${fmt(v.hundredRows.inIngress.meanMs, 3)}`,
                  '-',
                  'under 1 ms',
                ],
              ]
            : []),
          ...(v.hundredRows.inProcess
            ? [
                [
                  `the same 100 rows masked in the bench's process by the ingress's row masking, ms p50: back to back (after ${v.hundredRows.inProcess.gapMs} ms idle)`,
                  `${fmt(v.hundredRows.inProcess.backToBackMs, 3)} (${fmt(v.hundredRows.inProcess.afterIdleMs, 3)})`,
                  '-',
                  'under 1 ms',
                ],
              ]
            : []),
          ...(v.zeroRows
            ? [['the same query returning 0 rows: added ms (the part not spent on rows)', fmt(v.zeroRows.addedMs, 2), '-', '-']]
            : []),
          [
            `${v.bulk.rows.toLocaleString('en')}-row result through psql, s`,
            fmt(v.bulk.maskedSeconds, 2),
            fmt(v.bulk.unmaskedSeconds, 2),
            `masked/unmasked rate ${ratio(v.bulk.unmaskedSeconds, v.bulk.maskedSeconds)}`,
          ],
          [
            'ingress resident memory during the masked result, MiB',
            `${fmt(v.bulk.ingressPeakRssMiB, 0)} peak`,
            `${fmt(v.bulk.ingressRssBeforeMiB, 0)} before`,
            'bounded',
          ],
        ],
      ),
      '',
      `Commands: cells/s in process (bench/src/scenarios/masking.ts, the seeded corpus of bench/src/masking-corpus.ts through \`maskText\`); \`${v.hundredRows.query}\` through the gateway with node-postgres, as demo-agent (the demo policy masks it) and as report-agent (readonly-agents, unmasked), one query each in turn, the added time being the average of the medians of the differences of adjacent pairs, taken in both orders; the relaying and the time masking took in the ingress from its \`agentgate_pg_statement_stage_seconds\` (labels \`relay+masking\` and \`relay\`) and \`agentgate_pg_masking_seconds\` (label \`rows<=100\`) histograms, read before and after the pairs; in process, \`node bench/row-masking-idle.mjs ${v.hundredRows.inProcess?.gapMs ?? 15} ${v.hundredRows.inProcess?.results ?? 300}\` (the rows read from the target, the demo-pii plan of deploy/policies/demo); ${v.bulk.command}; memory from /proc/<ingress pid>/status sampled every 50 ms.`,
    ]),
    ...section(
      'Off-path consumers: the projector and the checkpointer as before (a fetch per event, inserts every 250 ms) and now (batched)',
      r.consumers,
      (v) => [
        table(
          ['run', 'mode', 'p50 ms', 'p95 ms', 'CPU ms per statement, all counted', ...COUNTED.map((n) => `${n} CPU ms`)],
          v.runs.map((x, i) => [
            i + 1,
            x.mode,
            fmt(x.stats.p50, 2),
            fmt(x.stats.p95, 2),
            fmt(
              Object.values(x.cpuMs).reduce((a, b) => a + b, 0),
              2,
            ),
            ...COUNTED.map((n) => fmt(x.cpuMs[n] ?? Number.NaN, 2)),
          ]),
        ),
        '',
        `Command: \`${run} --only consumers\` (bench/src/scenarios/consumers.ts): the stack's projector and checkpointer restarted by the bench with each mode's settings (per-event, as before: ${Object.entries(
          MODE_SETTINGS['per-event'],
        )
          .map(([k, val]) => `${k}=${val}`)
          .join(
            ' ',
          )}; batched: their defaults), modes alternating, then ${v.runs[0]?.statements ?? '-'} \`${v.query}\` one at a time through the gateway as dba-agent with node-postgres; CPU is utime + stime from /proc/<pid>/stat of each process (pids from .stack/run) over those statements, divided by their number.`,
      ],
    ),
    ...section('HTTP ingress: a GET of the schema registry, through the gateway and directly', r.http, (v) => [
      table(
        ['path', 'URL', 'p50 ms', 'p95 ms', 'p99 ms', 'requests'],
        v.runs.map((x) => [x.path, `\`${x.url}\``, fmt(x.stats.p50, 2), fmt(x.stats.p95, 2), fmt(x.stats.p99, 2), x.stats.count]),
      ),
      ...addedOverDirect(v.runs),
      '',
      `Command: \`${run} --only http\` (bench/src/scenarios/http.ts): one GET at a time, the whole body read, over one kept-alive undici connection per path, after ${v.warmup} untimed requests each; through the gateway as demo-agent (\`authorization: Bearer $(npm run -s token -- demo-agent)\`, TLS verified against the stack CA) on the connection \`registry\`, where each request is its own audit session: the token verified, the request recorded and decided by the policy processor before the registry sees it, the answer streamed back through the verdict's masker and recorded; directly, plain HTTP to the registry. One request is \`curl --cacert .stack/tls/ca.crt -H "authorization: Bearer $(npm run -s token -- demo-agent)" <URL>\`.`,
    ]),
    ...section('SSH ingress: exec round trips on one connection, through the gateway and directly', r.ssh, (v) => [
      table(
        ['path', 'login', 'p50 ms', 'p95 ms', 'p99 ms', 'execs', 'connect ms (once)'],
        v.runs.map((x) => [
          x.path,
          x.login,
          fmt(x.stats.p50, 2),
          fmt(x.stats.p95, 2),
          fmt(x.stats.p99, 2),
          x.stats.count,
          fmt(x.connectMs, 1),
        ]),
      ),
      ...addedOverDirect(v.runs),
      '',
      `Command: \`${run} --only ssh\` (bench/src/scenarios/ssh.ts, ssh2's Client): one connection per path, then \`exec('true')\` one at a time, each timed from the channel open to the channel close after exit status 0, after ${v.warmup} untimed ones; through the gateway as demo-agent (password = \`$(npm run -s token -- demo-agent)\`, the ingress's host key pinned) on the connection \`web\`, where each command is recorded and decided by the policy processor before the target sees it, then run over the gateway's own session to the target, its output passed through the verdict's detectors and its exit status recorded; directly, the target's sshd as agentgate-web with the key the gateway uses (.stack/secrets/ssh-target-web.key). Like \`ssh -o ControlMaster=auto ... true\` repeated on a shared connection, not a new login each time.`,
    ]),
    ...section('MCP gateway: tools/call echo in one session, through the gateway and directly', r.mcp, (v) => [
      table(
        ['path', 'server', 'p50 ms', 'p95 ms', 'p99 ms', 'calls', 'session open ms (once)'],
        v.runs.map((x) => [
          x.path,
          `\`${x.target}\``,
          fmt(x.stats.p50, 2),
          fmt(x.stats.p95, 2),
          fmt(x.stats.p99, 2),
          x.stats.count,
          fmt(x.openMs, 1),
        ]),
      ),
      ...addedOverDirect(v.runs),
      ...mcpTarget(v.runs),
      '',
      `Command: \`${run} --only mcp\` (bench/src/scenarios/mcp.ts, @modelcontextprotocol/sdk's Client offering no capabilities): one session per path, then \`tools/call echo {"message":"bench"}\` one at a time, each timed from the request to its result, after ${v.warmup} untimed ones; the session open (initialize and the initialized notification) timed once. Through the gateway as demo-agent (\`authorization: Bearer $(npm run -s token -- demo-agent)\`, Streamable HTTP, TLS verified against the stack CA) on the connection \`everything\`, where the session is recorded and its own server process started at initialize, and each call is recorded, decided by the policy processor, forwarded, its result recorded and only then released; directly, Streamable HTTP replaced by stdio to the same server package started with the catalog's command line from the repo root.`,
      ...(v.stages
        ? [
            '',
            `Where the gateway's time goes, per timed call (the time stamped on the session's RequestObserved and ResponseObserved events, read back from the audit log, each stamped as its write begins, paired with the bench's own round trips; the processor's mean from its \`agentgate_policy_request_to_verdict_seconds\` over the same calls, ${v.stages.processorVerdicts} verdicts counted, anyone else's included):`,
            '',
            table(
              ['stage', 'p50 ms', 'p95 ms', 'p99 ms', 'n'],
              [
                [
                  "request stamped -> response stamped: the request's write, the verdict and its delivery, the server's echo, masking",
                  fmt(v.stages.auditLoop.p50, 2),
                  fmt(v.stages.auditLoop.p95, 2),
                  fmt(v.stages.auditLoop.p99, 2),
                  v.stages.auditLoop.count,
                ],
                [
                  "the rest of the round trip: the response's write, HTTP and TLS both ways, the token check, both SDKs",
                  fmt(v.stages.outside.p50, 2),
                  fmt(v.stages.outside.p95, 2),
                  fmt(v.stages.outside.p99, 2),
                  v.stages.outside.count,
                ],
                [
                  'request stamped -> verdict ready in the processor (mean; part of the first row)',
                  fmt(v.stages.processorMeanMs, 2),
                  '-',
                  '-',
                  v.stages.processorVerdicts,
                ],
              ],
            ),
          ]
        : v.stagesError
          ? ['', `Stages not measured: ${v.stagesError.split('\n')[0]}`]
          : []),
    ]),
  ].join('\n');
}
