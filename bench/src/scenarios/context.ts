// What every scenario needs from the running local stack: ports, credentials, the bench's own
// token, and how to reach the target and the gateway with node-postgres.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

export interface BenchContext {
  root: string;
  quick: boolean;
  runId: string;
  /** Seconds per timed run. */
  seconds: number;
  env: NodeJS.ProcessEnv;
  ingressPort: number;
  ingressAdminPort: number;
  processorAdminPort: number;
  targetPort: number;
  /** The HTTP ingress (TLS) and the schema registry behind its connection `registry`. */
  httpIngressPort: number;
  registryPort: number;
  /** The SSH ingress and the SSH target behind its connection `web`. */
  sshIngressPort: number;
  targetSshPort: number;
  /** The stack's state directory (.stack): the SSH target's host key lives under data/. */
  stackDir: string;
  kafkaBrokers: string[];
  /** The audit log's projection (ClickHouse over HTTP) and its database. */
  clickhouseUrl: string;
  clickhouseDatabase: string;
  secretsDir: string;
  caFile: string;
  /** dba-agent's access token (the gateway's password). */
  token: string;
  /** agentgate_scratch's password (the direct baseline's). */
  targetPassword: string;
  log(message: string): void;
}

export const TARGET_ROLE = 'agentgate_scratch';

export function secret(ctx: BenchContext, name: string): string {
  return readFileSync(join(ctx.secretsDir, name), 'utf8').trim();
}

/** A fresh access token of `identity` from the dev IdP (scripts/token.mjs). */
export function tokenFor(ctx: BenchContext, identity: string): string {
  return execFileSync('node', [join(ctx.root, 'scripts/token.mjs'), identity], { encoding: 'utf8' }).trim();
}

/** node-postgres settings: dba-agent on scratch through an ingress, or scratch's own role directly; TLS verified both ways. */
export function pgSettings(ctx: BenchContext, path: 'agentgate' | 'direct', app: string, port?: number): pg.ClientConfig {
  const ssl = { ca: readFileSync(ctx.caFile, 'utf8'), servername: 'localhost' };
  return path === 'agentgate'
    ? {
        host: '127.0.0.1',
        port: port ?? ctx.ingressPort,
        database: 'scratch',
        user: 'dba-agent',
        password: ctx.token,
        application_name: app,
        ssl,
      }
    : {
        host: '127.0.0.1',
        port: ctx.targetPort,
        database: 'scratch',
        user: TARGET_ROLE,
        password: ctx.targetPassword,
        application_name: app,
        ssl,
      };
}

/** libpq conninfo for psql/pgbench, and the password to pass in PGPASSWORD. */
export function conninfo(
  ctx: BenchContext,
  path: 'agentgate' | 'direct',
  app: string,
  port?: number,
): { conninfo: string; password: string; shown: string } {
  return path === 'agentgate'
    ? {
        conninfo: `host=127.0.0.1 port=${port ?? ctx.ingressPort} dbname=scratch user=dba-agent sslmode=require application_name=${app}`,
        password: ctx.token,
        shown: `PGPASSWORD=$(npm run -s token -- dba-agent) psql "host=127.0.0.1 port=${port ?? ctx.ingressPort} dbname=scratch user=dba-agent sslmode=require"`,
      }
    : {
        conninfo: `host=127.0.0.1 port=${ctx.targetPort} dbname=scratch user=${TARGET_ROLE} sslmode=require application_name=${app}`,
        password: ctx.targetPassword,
        shown: `PGPASSWORD=<target password> psql "host=127.0.0.1 port=${ctx.targetPort} dbname=scratch user=${TARGET_ROLE} sslmode=require"`,
      };
}

/** One query on scratch as its own role, directly on the target. */
export async function directQuery<R extends pg.QueryResultRow>(ctx: BenchContext, sql: string): Promise<R[]> {
  const client = new pg.Client(pgSettings(ctx, 'direct', `${ctx.runId}_admin`));
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The target's max_connections and how many are in use now (every database, as pg_stat_activity shows them). */
export async function targetConnections(ctx: BenchContext): Promise<{ max: number; inUse: number }> {
  const [row] = await directQuery<{ max: string; used: string }>(
    ctx,
    `select current_setting('max_connections') as max, (select count(*) from pg_stat_activity where backend_type = 'client backend') as used`,
  );
  return { max: Number(row?.max), inUse: Number(row?.used) };
}

/** What to do when the target's max_connections is below what a scenario asks for. */
export function maxConnectionsAdvice(max: number, wanted: number): string {
  return (
    `the target's max_connections is ${max}, below the ${wanted} this scenario needs: ` +
    'clusters created before deploy/local/stack.sh wrote max_connections = 700 keep their old value; ' +
    "set max_connections = 700 in the cluster's postgresql.conf (.stack/data/postgres, or /var/lib where stack.sh links it) " +
    'and restart the target (`bash deploy/local/stack.sh stop postgres && bash deploy/local/stack.sh start postgres`) when nobody else is using the stack'
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
