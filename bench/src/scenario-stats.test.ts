import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from '@agentgate/observability';
import {
  added,
  connectionBudget,
  histogramDelta,
  metricValue,
  migrationScript,
  observedBetween,
  summarize,
  waves,
} from './scenario-stats.js';
import { bulkSql } from './scenarios/bulk.js';
import { renderScenarios, renderStageTable } from './scenarios/render.js';
import { stageTable } from './scenarios/stages.js';

test('summaries by nearest rank, NaN when empty', () => {
  const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
  assert.deepEqual(s, { p50: 50, p95: 95, p99: 99, count: 100 });
  assert.ok(Number.isNaN(summarize([]).p50));
});

test('connections open in waves of at most the wave size', () => {
  assert.deepEqual(waves(60, 25), [25, 25, 10]);
  assert.deepEqual(waves(25, 25), [25]);
  assert.deepEqual(waves(0, 25), []);
  assert.throws(() => waves(5, 0));
});

test('the connection budget leaves the target its reserve', () => {
  assert.equal(connectionBudget(500, 700, 10, 30), 500);
  assert.equal(connectionBudget(500, 200, 10, 30), 160);
  assert.equal(connectionBudget(500, 20, 10, 30), 0);
});

test('histogram deltas count only what happened between the snapshots', () => {
  const h = new LatencyHistogram('agentgate_pg_statement_stage_seconds', 'stages', 'stage');
  for (let i = 0; i < 100; i++) h.observe('total', 0.05); // before the run: slow
  const before = h.render();
  for (let i = 0; i < 100; i++) h.observe('total', 0.0018);
  h.observe('upstream', 0.0004);
  const after = h.render();
  const d = histogramDelta(before, after, 'agentgate_pg_statement_stage_seconds');
  const total = d.get('total')!;
  assert.equal(total.count, 100);
  // All 100 fall in the (1.5 ms, 2 ms] bucket: interpolated within it, nowhere near 50 ms.
  assert.ok(total.p50 > 1.5 && total.p50 <= 2, String(total.p50));
  assert.ok(total.p99 > 1.5 && total.p99 <= 2, String(total.p99));
  assert.equal(d.get('upstream')!.count, 1);

  const t = stageTable({ adminPort: 1, text: before }, { adminPort: 1, text: after });
  // Stage order of the ingress, not alphabetical.
  assert.deepEqual(
    t.rows.map((r) => r.label),
    ['upstream', 'total'],
  );
  assert.match(renderStageTable(t), /\| agentgate_pg_statement_stage_seconds \| total \| 1\.75 \| 1\.98 \| 2\.00 \| 100 \|/);
});

test('a migration script is one INSERT per line', () => {
  const s = migrationScript('t', 3);
  assert.equal(s.split('\n').filter(Boolean).length, 3);
  assert.match(s, /^insert into t \(id, note\) values \(3, 'migration row 3'\);$/m);
});

test('bulk SQL: the same rows as SELECT and as COPY', () => {
  const s = bulkSql(10);
  assert.equal(s.copy, `copy (${s.select}) to stdout`);
  assert.match(s.select, /generate_series\(1,10\)/);
});

test('added latency', () => {
  assert.equal(added(5.5, 0.25), '5.25');
  assert.equal(added(Number.NaN, 1), '-');
});

test('the scenarios render as tables with their commands; a failed scenario says so', () => {
  const stats = { p50: 1, p95: 2, p99: 3, count: 10 };
  const md = renderScenarios({
    quick: true,
    kafkaFloor: { ok: true, value: [{ maxWaitMs: 1, stats }] },
    fleet: {
      ok: true,
      value: {
        requested: 100,
        connections: 80,
        seconds: 10,
        maxConnections: 200,
        note: 'ran 80 of 100',
        command: 'npm run bench -- --scenarios --quick',
        runs: [
          { path: 'direct', connections: 80, stats, errors: 0, connectMs: 1000 },
          { path: 'agentgate', connections: 80, stats: { ...stats, p50: 4 }, errors: 1, connectMs: 2000 },
        ],
      },
    },
    bulk: {
      ok: true,
      value: [
        {
          kind: 'copy',
          rows: 5,
          directSeconds: 1,
          agentgateSeconds: 3,
          bytes: 9,
          identical: true,
          sha256: 'ab'.repeat(32),
          command: 'psql',
        },
      ],
    },
    processors: { ok: false, error: 'second processor not ready\nlog tail' },
  });
  assert.match(md, /\| 1 ms \| 1\.00 \| 2\.00 \| 3\.00 \| 10 \|/);
  assert.match(md, /Added by agentgate: p50 3\.00 ms, p99 0\.00 ms\./);
  assert.match(md, /\*\*Note:\*\* ran 80 of 100/);
  assert.match(md, /\| COPY \(\.\.\.\) TO STDOUT \| 5 \| 1\.00 \| 3\.00 \| 3\.00 \| 9 \| yes/);
  assert.match(md, /Not measured in this run: second processor not ready$/m);
  assert.match(md, /npm run bench -- --scenarios --quick/);
  assert.doesNotMatch(md, /Migration/);
});

test('an unlabelled counter is read from a metrics page', () => {
  const page =
    '# TYPE agentgate_policy_verdicts_total counter\nagentgate_policy_verdicts_total 10342\nagentgate_policy_verdicts_total_x 1\n';
  assert.equal(metricValue(page, 'agentgate_policy_verdicts_total'), 10342);
  assert.ok(Number.isNaN(metricValue(page, 'agentgate_nope')));
});

test('observedBetween: quantiles and mean of one label between two snapshots', () => {
  const h = new LatencyHistogram('agentgate_pg_masking_seconds', 'masking', 'rows', [0.0002, 0.0004, 0.0008, 0.0016]);
  h.observe('rows<=100', 0.01);
  h.observe('rows>10000', 1);
  const before = h.render();
  for (let i = 0; i < 90; i++) h.observe('rows<=100', 0.0003);
  for (let i = 0; i < 10; i++) h.observe('rows<=100', 0.0012);
  h.observe('rows>10000', 2);
  const o = observedBetween(before, h.render(), 'agentgate_pg_masking_seconds', 'rows<=100');
  assert.equal(o.count, 100);
  // 90 in (0.2, 0.4] ms and 10 in (0.8, 1.6] ms; the one before the first snapshot is not counted.
  assert.ok(o.p50 > 0.2 && o.p50 <= 0.4, String(o.p50));
  assert.ok(o.p90 > 0.2 && o.p90 <= 0.4 + 1e-9, String(o.p90));
  assert.ok(Math.abs(o.meanMs - (90 * 0.3 + 10 * 1.2) / 100) < 1e-9, String(o.meanMs));
  assert.ok(Number.isNaN(observedBetween(before, before, 'agentgate_pg_masking_seconds', 'rows<=100').meanMs));
});
