// A migration-shaped session: thousands of INSERTs in one session, one at a time over the simple
// protocol (psql -f), through agentgate and directly. Each path writes its own table on scratch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrationScript } from '../scenario-stats.js';
import { type BenchContext, conninfo, directQuery } from './context.js';
import { runOk } from './proc.js';

export interface MigrationRun {
  path: 'agentgate' | 'direct';
  statements: number;
  seconds: number;
  perSecond: number;
  command: string;
}

export async function migration(ctx: BenchContext): Promise<MigrationRun[]> {
  const statements = ctx.quick ? 1000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'ag-bench-migration-'));
  const out: MigrationRun[] = [];
  try {
    for (const path of ['direct', 'agentgate'] as const) {
      const table = `bench_migration_${ctx.runId}_${path}`;
      await directQuery(ctx, `create table ${table} (id int primary key, note text)`);
      try {
        const file = join(dir, `${path}.sql`);
        writeFileSync(file, migrationScript(table, statements));
        const c = conninfo(ctx, path, `${ctx.runId}_migration`);
        const r = await runOk('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file, c.conninfo], {
          env: { ...ctx.env, PGPASSWORD: c.password },
        });
        const [row] = await directQuery<{ n: string }>(ctx, `select count(*) as n from ${table}`);
        if (Number(row?.n) !== statements) throw new Error(`migration via ${path}: ${row?.n} rows, expected ${statements}`);
        const seconds = r.ms / 1000;
        out.push({
          path,
          statements,
          seconds,
          perSecond: statements / seconds,
          command: `${c.shown.replace('psql ', 'psql -X -q -v ON_ERROR_STOP=1 -f migration.sql ')} (${statements} lines 'insert into t (id, note) values (i, ...)')`,
        });
        ctx.log(`migration via ${path}: ${statements} statements in ${seconds.toFixed(1)} s`);
      } finally {
        await directQuery(ctx, `drop table if exists ${table}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
