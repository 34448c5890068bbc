// Latency histograms in the Prometheus text format, with labels. Buckets span the range a gateway
// stage lives in: tenths of a millisecond (a produce on an idle broker) to seconds (a deadline).

/** Upper bounds in seconds. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0002, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

class Series {
  readonly buckets: number[];
  count = 0;
  sum = 0;
  constructor(size: number) {
    this.buckets = new Array<number>(size).fill(0);
  }
}

/** One histogram metric; each distinct label value is a series. */
export class LatencyHistogram {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
    private readonly bounds: readonly number[] = LATENCY_BUCKETS,
  ) {}

  observe(labelValue: string, seconds: number): void {
    let s = this.series.get(labelValue);
    if (!s) {
      s = new Series(this.bounds.length);
      this.series.set(labelValue, s);
    }
    s.count++;
    s.sum += seconds;
    // Stored per bucket, made cumulative when rendered.
    const i = this.bounds.findIndex((le) => seconds <= le);
    if (i >= 0) s.buckets[i]!++;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [value, s] of this.series) {
      const l = `${this.label}="${value.replace(/["\\\n]/g, '_')}"`;
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        lines.push(`${this.name}_bucket{${l},le="${le}"} ${cumulative}`);
      });
      lines.push(
        `${this.name}_bucket{${l},le="+Inf"} ${s.count}`,
        `${this.name}_sum{${l}} ${s.sum}`,
        `${this.name}_count{${l}} ${s.count}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Cumulative bucket counts of one series, as parsed from the text format. */
export interface BucketCounts {
  bounds: number[];
  cumulative: number[];
  count: number;
}

/** Every series of histogram `name` in a Prometheus text page, by label value. */
export function parseHistogram(text: string, name: string): Map<string, BucketCounts> {
  const out = new Map<string, BucketCounts>();
  const re = new RegExp(`^${name}_bucket\\{\\w+="([^"]*)",le="([^"]+)"\\} (\\d+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const [, value, le, n] = m;
    let s = out.get(value!);
    if (!s) {
      s = { bounds: [], cumulative: [], count: 0 };
      out.set(value!, s);
    }
    if (le === '+Inf') s.count = Number(n);
    else {
      s.bounds.push(Number(le));
      s.cumulative.push(Number(n));
    }
  }
  return out;
}

/** The difference of two snapshots of one series (what happened between them). */
export function bucketDelta(after: BucketCounts, before: BucketCounts | undefined): BucketCounts {
  if (!before) return after;
  return {
    bounds: after.bounds,
    cumulative: after.cumulative.map((n, i) => n - (before.cumulative[i] ?? 0)),
    count: after.count - before.count,
  };
}

/** Quantile q of a series, interpolated linearly inside its bucket (as Prometheus's histogram_quantile). */
export function bucketQuantile(s: BucketCounts, q: number): number {
  if (s.count === 0) return Number.NaN;
  const rank = q * s.count;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < s.bounds.length; i++) {
    const upper = s.bounds[i]!;
    const n = s.cumulative[i]!;
    if (n >= rank) return lower + ((upper - lower) * (rank - below)) / Math.max(1, n - below);
    lower = upper;
    below = n;
  }
  return s.bounds[s.bounds.length - 1] ?? Number.NaN;
}
