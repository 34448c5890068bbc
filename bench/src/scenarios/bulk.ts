// Bulk results: a large SELECT and the same rows as COPY TO STDOUT, with psql, through agentgate
// and directly. The bytes psql writes must be identical; the gateway's session NOTICE goes to
// stderr, which is not hashed.
import { type BenchContext, conninfo } from './context.js';
import { runOk } from './proc.js';

export interface BulkRun {
  kind: 'select' | 'copy';
  rows: number;
  directSeconds: number;
  agentgateSeconds: number;
  bytes: number;
  identical: boolean;
  sha256: string;
  command: string;
}

export function bulkSql(rows: number): { select: string; copy: string } {
  const select = `select g, 'row number '||g from generate_series(1,${rows}) g`;
  return { select, copy: `copy (${select}) to stdout` };
}

export async function bulk(ctx: BenchContext): Promise<BulkRun[]> {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const sql = bulkSql(rows);
  const out: BulkRun[] = [];
  for (const kind of ['select', 'copy'] as const) {
    const r: Partial<Record<'agentgate' | 'direct', Awaited<ReturnType<typeof runOk>>>> = {};
    const args = ['-X', '-q', '-At', '-c', sql[kind]];
    for (const path of ['direct', 'agentgate'] as const) {
      const c = conninfo(ctx, path, `${ctx.runId}_bulk`);
      r[path] = await runOk('psql', [...args, c.conninfo], { env: { ...ctx.env, PGPASSWORD: c.password }, keepStdout: false });
      ctx.log(`bulk ${kind} via ${path}: ${(r[path].ms / 1000).toFixed(1)} s, ${r[path].stdoutBytes} bytes`);
    }
    const d = r.direct!;
    const a = r.agentgate!;
    out.push({
      kind,
      rows,
      directSeconds: d.ms / 1000,
      agentgateSeconds: a.ms / 1000,
      bytes: a.stdoutBytes,
      identical: a.stdoutSha256 === d.stdoutSha256 && a.stdoutBytes === d.stdoutBytes,
      sha256: a.stdoutSha256,
      command: `psql -X -q -At -c "${sql[kind]}" "<conninfo>" | sha256sum`,
    });
  }
  return out;
}
