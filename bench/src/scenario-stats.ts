// Pure helpers of the scenario benchmarks: latency summaries, connection waves and budgets, and
// quantiles per label from two snapshots of a Prometheus histogram.
import { bucketDelta, bucketQuantile, parseHistogram } from '@agentgate/observability';
import { quantile } from './report.js';

/** p50/p95/p99 of a sample in milliseconds, and its size. */
export interface LatencyStats {
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

/** Nearest-rank quantiles of a sample (NaN when it is empty). */
export function summarize(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), count: sorted.length };
}

/** Sizes of the waves that open `total` connections at most `size` at a time. */
export function waves(total: number, size: number): number[] {
  if (size < 1) throw new Error('wave size must be at least 1');
  const out: number[] = [];
  for (let left = total; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

/**
 * How many connections the target can take for a scenario: its max_connections less those in
 * use and a reserve for everyone else on the stack (superuser slots, other engineers' tests).
 */
export function connectionBudget(requested: number, maxConnections: number, inUse: number, reserve: number): number {
  return Math.max(0, Math.min(requested, maxConnections - inUse - reserve));
}

/**
 * Quantiles in milliseconds, per label value, of what histogram `name` observed between two
 * snapshots of a /metrics page. Labels absent from `after` are left out.
 */
export function histogramDelta(before: string, after: string, name: string): Map<string, LatencyStats> {
  const b = parseHistogram(before, name);
  const out = new Map<string, LatencyStats>();
  for (const [label, series] of parseHistogram(after, name)) {
    const d = bucketDelta(series, b.get(label));
    const ms = (q: number): number => bucketQuantile(d, q) * 1000;
    out.set(label, { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99), count: d.count });
  }
  return out;
}

/** The statements of a migration: one INSERT per line, simple protocol, `count` of them. */
export function migrationScript(table: string, count: number): string {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) lines.push(`insert into ${table} (id, note) values (${i}, 'migration row ${i}');`);
  return `${lines.join('\n')}\n`;
}

/** "a over b" as a signed difference in ms with two decimals, '-' when either is missing. */
export function added(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) ? (a - b).toFixed(2) : '-';
}

/** The value of an unlabelled counter or gauge in a Prometheus text page; NaN when absent. */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** What one label of a histogram observed between two snapshots: p50 and p90 (ms), mean (ms), count. */
export interface ObservedBetween {
  p50: number;
  p90: number;
  meanMs: number;
  count: number;
}

/**
 * The observations of histogram `name` with label value `label` between two snapshots of a
 * /metrics page: quantiles interpolated within buckets, the mean from `_sum` and `_count`.
 */
export function observedBetween(before: string, after: string, name: string, label: string): ObservedBetween {
  const d = bucketDelta(
    parseHistogram(after, name).get(label) ?? { bounds: [], cumulative: [], count: 0 },
    parseHistogram(before, name).get(label),
  );
  const sum = (text: string): number => {
    const m = new RegExp(`^${name}_sum\\{\\w+="${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\} ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    p50: bucketQuantile(d, 0.5) * 1000,
    p90: bucketQuantile(d, 0.9) * 1000,
    meanMs: d.count > 0 ? ((sum(after) - sum(before)) / d.count) * 1000 : Number.NaN,
    count: d.count,
  };
}
