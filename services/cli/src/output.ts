// How commands print: a human table by default, one JSON document with --json. stdout carries
// the data only; messages and errors go to stderr, so `--json | jq` and `$(...)` stay clean.

/** Where a command writes; injected so tests can capture it. */
export interface CliIo {
  /** Writes to stdout exactly what is given. */
  out(text: string): void;
  /** Writes to stderr exactly what is given. */
  err(text: string): void;
}

/** Prints one JSON document and a newline. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

/** A UTC timestamp to the millisecond, readable in a table. */
export function utc(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 23);
}
