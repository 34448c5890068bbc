import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderScenarios } from './render.js';

const stats = (p50: number, p99: number) => ({ p50, p95: (p50 + p99) / 2, p99, count: 50 });

test('the http section: both paths, the added latency and the exact command', () => {
  const md = renderScenarios({
    quick: true,
    http: {
      ok: true,
      value: {
        warmup: 10,
        runs: [
          { path: 'direct', url: 'http://127.0.0.1:18081/apis/ccompat/v7/subjects', stats: stats(1, 3) },
          { path: 'agentgate', url: 'https://127.0.0.1:18443/registry/apis/ccompat/v7/subjects', stats: stats(2.5, 7.25) },
        ],
      },
    },
  });
  assert.match(md, /#### HTTP ingress/);
  assert.match(md, /\| direct \| `http:\/\/127\.0\.0\.1:18081\/apis\/ccompat\/v7\/subjects` \| 1\.00 \| 2\.00 \| 3\.00 \| 50 \|/);
  assert.match(md, /\| agentgate \| `https:\/\/127\.0\.0\.1:18443\/registry\/apis\/ccompat\/v7\/subjects` \| 2\.50 \|/);
  assert.match(md, /Added by agentgate over direct: p50 1\.50 ms, p99 4\.25 ms\./);
  assert.match(md, /Command: `npm run bench -- --scenarios --quick --only http`/);
  assert.match(md, /after 10 untimed requests/);
  assert.doesNotMatch(md, /#### SSH ingress/);
});

test('the ssh section: both paths, the added latency, the one connect and the exact command', () => {
  const md = renderScenarios({
    quick: false,
    ssh: {
      ok: true,
      value: {
        warmup: 5,
        runs: [
          { path: 'direct', login: 'agentgate-web@127.0.0.1:22222', connectMs: 12.34, stats: stats(0.8, 1.2) },
          { path: 'agentgate', login: 'web@127.0.0.1:12222', connectMs: 40, stats: stats(3.8, 9.2) },
        ],
      },
    },
  });
  assert.match(md, /#### SSH ingress/);
  assert.match(md, /\| direct \| agentgate-web@127\.0\.0\.1:22222 \| 0\.80 \| 1\.00 \| 1\.20 \| 50 \| 12\.3 \|/);
  assert.match(md, /\| agentgate \| web@127\.0\.0\.1:12222 \| 3\.80 \|/);
  assert.match(md, /Added by agentgate over direct: p50 3\.00 ms, p99 8\.00 ms\./);
  assert.match(md, /Command: `npm run bench -- --scenarios --only ssh`/);
  assert.match(md, /after 5 untimed ones/);
});

test('a scenario that failed says so instead of a table, and a missing path leaves no added line', () => {
  const md = renderScenarios({
    quick: true,
    http: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:18443\n    at TCPConnectWrap' },
    ssh: { ok: true, value: { warmup: 5, runs: [{ path: 'direct', login: 'x', connectMs: 1, stats: stats(1, 2) }] } },
  });
  assert.match(md, /#### HTTP ingress[^\n]*\n\nNot measured in this run: connect ECONNREFUSED 127\.0\.0\.1:18443\n/);
  assert.doesNotMatch(md, /TCPConnectWrap/);
  assert.doesNotMatch(md, /\n\n\n/);
  assert.doesNotMatch(md, /Added by agentgate/);
});

test('the mcp section: both paths, each session open, the added latency, the target and the stages', () => {
  const runs = [
    {
      path: 'direct' as const,
      target: 'node node_modules/@modelcontextprotocol/server-everything/dist/index.js stdio',
      openMs: 350.5,
      stats: stats(0.4, 2),
    },
    { path: 'agentgate' as const, target: 'https://127.0.0.1:18443/mcp/everything', openMs: 363, stats: stats(1.9, 11.5) },
  ];
  const md = renderScenarios({
    quick: true,
    mcp: {
      ok: true,
      value: {
        warmup: 10,
        runs,
        stages: { auditLoop: stats(1.25, 8), outside: stats(0.5, 3), processorMeanMs: 0.75, processorVerdicts: 52 },
      },
    },
  });
  assert.match(md, /#### MCP gateway/);
  assert.match(
    md,
    /\| direct \| `node node_modules\/@modelcontextprotocol\/server-everything\/dist\/index\.js stdio` \| 0\.40 \| 1\.20 \| 2\.00 \| 50 \| 350\.5 \|/,
  );
  assert.match(md, /\| agentgate \| `https:\/\/127\.0\.0\.1:18443\/mcp\/everything` \| 1\.90 \| 6\.70 \| 11\.50 \| 50 \| 363\.0 \|/);
  assert.match(md, /Added by agentgate over direct: p50 1\.50 ms, p99 9\.50 ms\./);
  assert.match(md, /Target: added p50 < 2 ms and p99 < 10 ms: met\./);
  assert.match(md, /Command: `npm run bench -- --scenarios --quick --only mcp`/);
  assert.match(md, /after 10 untimed ones/);
  assert.match(md, /\| request stamped -> response stamped[^|]*\| 1\.25 \| 4\.63 \| 8\.00 \| 50 \|/);
  assert.match(md, /\| the rest of the round trip[^|]*\| 0\.50 \| 1\.75 \| 3\.00 \| 50 \|/);
  assert.match(md, /\| request stamped -> verdict ready in the processor[^|]*\| 0\.75 \| - \| - \| 52 \|/);

  // Either quantile over its bound misses the target.
  const slow = [runs[0]!, { ...runs[1]!, stats: stats(2.5, 11.5) }];
  assert.match(renderScenarios({ quick: true, mcp: { ok: true, value: { warmup: 10, runs: slow } } }), /: not met\./);
  const spiky = [runs[0]!, { ...runs[1]!, stats: stats(1.9, 12.5) }];
  assert.match(renderScenarios({ quick: true, mcp: { ok: true, value: { warmup: 10, runs: spiky } } }), /: not met\./);
});

test('the mcp section without stages says why', () => {
  const md = renderScenarios({
    quick: false,
    mcp: { ok: true, value: { warmup: 10, runs: [], stagesError: 'the session recorded 3 requests, the bench made 210\nstack' } },
  });
  assert.match(md, /Stages not measured: the session recorded 3 requests, the bench made 210\n/);
  assert.doesNotMatch(md, /Target:/);
  assert.doesNotMatch(md, /request stamped/);
});

test('the consumers section: each run with its mode, latency and CPU per statement by process, the settings of the per-event mode', () => {
  const cpu = { 'ingress-postgres': 4, kafka: 8, projector: 6, checkpointer: 5.5 };
  const md = renderScenarios({
    quick: false,
    consumers: {
      ok: true,
      value: {
        query: 'select 1',
        runs: [
          { mode: 'per-event', statements: 1500, stats: stats(19.8, 40), cpuMs: cpu },
          { mode: 'batched', statements: 1500, stats: stats(8.65, 30), cpuMs: { ...cpu, projector: 1.4, checkpointer: 0.4 } },
        ],
      },
    },
  });
  assert.match(md, /#### Off-path consumers/);
  // run, mode, p50, p95, the sum of what was counted, then ingress-postgres, policy-processor (not counted), kafka, projector, checkpointer
  assert.match(md, /\| 1 \| per-event \| 19\.80 \| 29\.90 \| 23\.50 \| 4\.00 \| - \| 8\.00 \| 6\.00 \| 5\.50 \|/);
  assert.match(md, /\| 2 \| batched \| 8\.65 \| 19\.3\d \| 13\.80 \| 4\.00 \| - \| 8\.00 \| 1\.40 \| 0\.40 \|/);
  assert.match(md, /AG_PROJECTOR_FETCH_MIN_BYTES=1 /);
  assert.match(md, /then 1500 `select 1` one at a time/);
});

test('the masking section: the added latency end to end, in the relay, in the ingress and in process, each against its target', () => {
  const observed = (p50: number) => ({ p50, p90: p50 * 2, meanMs: p50 * 1.5, count: 1000 });
  const md = renderScenarios({
    quick: false,
    masking: {
      ok: true,
      value: {
        cells: { perSecond: 1_100_000, cells: 3_300_000, meanChars: 18.5, firedShare: 0.049 },
        hundredRows: {
          masked: stats(15.92, 40.5),
          unmasked: stats(14.38, 42.46),
          addedMs: 1.17,
          inIngress: observed(0.706),
          relay: { masked: observed(1.624), unmasked: observed(0.67) },
          inProcess: { backToBackMs: 0.247, afterIdleMs: 0.819, gapMs: 15, results: 300 },
          query: 'SELECT * FROM public.customers WHERE id BETWEEN 1 AND 100',
        },
        bulk: {
          rows: 1_000_000,
          maskedSeconds: 1.7,
          unmaskedSeconds: 1.34,
          ingressPeakRssMiB: 155,
          ingressRssBeforeMiB: 150,
          command: 'psql ...',
        },
      },
    },
  });
  assert.match(
    md,
    /\| 100-row result of public\.customers, p50 ms \(p99\) \| 15\.92 \(40\.50\) \| 14\.38 \(42\.46\) \| added < 1 ms: 1\.17 ms \|/,
  );
  assert.match(md, /relayed by the ingress .* \| 1\.624 \(2\.436\) \| 0\.670 \(1\.005\) \| added < 1 ms: 0\.954 ms \|/);
  assert.match(md, /masked in the bench's process .* back to back \(after 15 ms idle\) \| 0\.247 \(0\.819\) \| - \| under 1 ms \|/);
  assert.match(md, /`node bench\/row-masking-idle\.mjs 15 300`/);
});

test('how settled the stack was as each scenario began, and a scenario that began unsettled', () => {
  const md = renderScenarios({
    quick: true,
    settling: {
      masking: { settled: true, coresBusy: 0.31, waitedMs: 9_000, maxCores: 0.5, windowMs: 3_000 },
      http: { settled: false, coresBusy: 1.4, waitedMs: 300_000, maxCores: 0.5, windowMs: 3_000 },
    },
  });
  assert.match(md, /fewer than 0\.50 cores busy over 3 s/);
  assert.match(md, /\| masking \| yes \| 0\.31 \| 9 \|/);
  assert.match(md, /\| http \| no \| 1\.40 \| 300 \|/);
  assert.doesNotMatch(renderScenarios({ quick: true }), /cores busy/);
});
