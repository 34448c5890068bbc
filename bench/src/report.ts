// Pure helpers of the benchmark report: quantiles, ratios and the markdown tables.

/** Quantile (0..1) of a sample by the nearest-rank method; NaN for an empty sample. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** a / b rounded to two decimals, or '-' when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return (a / b).toFixed(2);
}

/** A markdown table; every cell is escaped for pipes. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number): string => String(v).replace(/\|/g, '\\|');
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** pgbench's summary: tps (without connection time) and average latency in ms. */
export function parsePgbench(output: string): { tps: number; latencyMs: number; failed: number; processed: number } {
  const num = (re: RegExp): number => Number(re.exec(output)?.[1] ?? Number.NaN);
  return {
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
    latencyMs: num(/latency average = ([\d.]+) ms/),
    failed: num(/number of failed transactions: (\d+)/),
    processed: num(/number of transactions actually processed: (\d+)/),
  };
}
