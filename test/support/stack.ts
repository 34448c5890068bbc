// Where the running local stack is, from .stack/run/stack.env (exported by scripts/run-tests.sh).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouse, type ClickHouseClient } from '@agentgate/clickhouse';

// Compiled to test/dist/support/, three levels below the repository root.
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const env = process.env;

export const stack = Object.freeze({
  ingressHost: env['AG_PG_INGRESS_HOST'] ?? '127.0.0.1',
  ingressPort: Number(env['AG_PG_INGRESS_PORT'] ?? 15432),
  targetPort: Number(env['AG_TARGET_PG_PORT'] ?? 25432),
  clickhouseUrl: env['AG_CLICKHOUSE_URL'] ?? 'http://127.0.0.1:18123',
  clickhouseDatabase: env['AG_CLICKHOUSE_DATABASE'] ?? 'agentgate',
  kafkaBrokers: (env['AG_KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(','),
  registryUrl: env['AG_REGISTRY_URL'] ?? 'http://127.0.0.1:18081/apis/ccompat/v7',
  secretsDir: env['AG_SECRETS_DIR'] ?? join(ROOT, '.stack/secrets'),
  caFile: env['AG_TLS_CA_FILE'] ?? join(ROOT, '.stack/tls/ca.crt'),
  idpIssuer: env['AG_DEV_IDP_ISSUER'] ?? 'http://127.0.0.1:14000',
  idpStateDir: env['AG_DEV_IDP_STATE_DIR'] ?? join(ROOT, '.stack/data/dev-idp'),
  logDir: env['AG_LOG_DIR'] ?? join(ROOT, '.stack/logs'),
});

/** A secret the stack keeps in its secrets directory (tests act as the stack's administrator). */
export function stackSecret(name: string): string {
  return readFileSync(join(stack.secretsDir, name), 'utf8').trim();
}

/** ClickHouse as its administrator (`default`). */
export function clickhouse(database = stack.clickhouseDatabase): ClickHouseClient {
  return createClickHouse({ url: stack.clickhouseUrl, database, username: 'default', password: stackSecret('clickhouse-admin.password') });
}

/** kafkajs settings to act as a Kafka principal of the stack (`admin` unless given), SCRAM over verified TLS. */
export function kafkaAs(principal = 'admin'): {
  brokers: string[];
  ssl: { ca: string[] };
  sasl: { mechanism: 'scram-sha-512'; username: string; password: string };
} {
  return {
    brokers: stack.kafkaBrokers,
    ssl: { ca: [readFileSync(stack.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: principal, password: stackSecret(`kafka-${principal}.password`) },
  };
}

export function targetAdminPassword(): string {
  return readFileSync(join(stack.secretsDir, 'target-admin-password'), 'utf8').trim();
}

export interface PsqlResult {
  status: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

const tokenCache = new Map<string, string>();

/** An access token from the development IdP, via the same script the README shows. */
export function token(name: string, extra: string[] = []): string {
  const key = [name, ...extra].join(' ');
  const cached = tokenCache.get(key);
  if (cached && extra.length === 0) return cached;
  const r = spawnSync('node', [join(ROOT, 'scripts/token.mjs'), name, ...extra], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`token for ${name} failed: ${r.stderr}`);
  const value = r.stdout.trim();
  if (extra.length === 0) tokenCache.set(key, value);
  return value;
}

/** Forgets cached tokens (after the IdP's keys change). */
export function forgetTokens(): void {
  tokenCache.clear();
}

/** node-postgres settings for the ingress: TLS verified against the local CA, a token as password. */
export function pgConfig(options: { applicationName: string; password?: string; database?: string; user?: string }): {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  application_name: string;
  ssl: { ca: string; servername: string };
} {
  return {
    host: stack.ingressHost,
    port: stack.ingressPort,
    database: options.database ?? 'demo',
    user: options.user ?? 'demo-agent',
    password: options.password ?? token('demo-agent'),
    application_name: options.applicationName,
    ssl: { ca: readFileSync(stack.caFile, 'utf8'), servername: 'localhost' },
  };
}

/** Runs the real psql against the ingress, over verified TLS with a token. */
export function psql(
  args: string[],
  options: { applicationName?: string; input?: string; database?: string; password?: string } = {},
): Promise<PsqlResult> {
  const started = Date.now();
  const conninfo = `host=${stack.ingressHost} port=${stack.ingressPort} dbname=${options.database ?? 'demo'} user=demo-agent application_name=${options.applicationName ?? 'e2e'} sslmode=verify-full sslrootcert=${stack.caFile}`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('psql', ['-X', '-v', 'VERBOSITY=verbose', conninfo, ...args], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10', PGPASSWORD: options.password ?? token('demo-agent') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr, elapsedMs: Date.now() - started }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a query directly on the target as its admin (what the target saw). */
export function targetQuery(sql: string, database = 'demo'): string {
  const r = spawnSync(
    'psql',
    ['-X', '-tA', '-h', '127.0.0.1', '-p', String(stack.targetPort), '-U', 'agentgate_admin', '-d', database, '-c', sql],
    {
      env: { ...process.env, PGPASSWORD: targetAdminPassword() },
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`target query failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Starts or stops one component of the local stack. */
export function stackCommand(command: 'start' | 'stop', component: string): void {
  const r = spawnSync('bash', [join(ROOT, 'deploy/local/stack.sh'), command, component], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`stack.sh ${command} ${component} failed (status ${r.status}, signal ${r.signal}): ${r.stderr}${r.stdout}`);
}

/**
 * As stackCommand, without blocking this process's event loop: a test that keeps HTTP connections
 * alive across it must let them see the server close idle ones, or its next request goes out on
 * a dead socket.
 */
export function stackCommandAsync(command: 'start' | 'stop', component: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'deploy/local/stack.sh'), command, component], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) =>
      status === 0
        ? resolve()
        : reject(new Error(`stack.sh ${command} ${component} failed (status ${status}, signal ${signal}): ${output}`)),
    );
  });
}

/** Polls until `probe` returns a value or the timeout passes. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Polls `probe` until every count has reached its expected value or the timeout passes, and
 * returns the last counts seen for the caller to assert. Each count is waited for itself:
 * events of different topics reach ClickHouse at different times, so a neighbour's count
 * says nothing about this one. An excess stops the wait at once and fails the assertion.
 */
export async function countsReaching<K extends string>(
  probe: () => Promise<Record<K, number>>,
  expected: Record<K, number>,
  timeoutMs: number,
): Promise<Record<K, number>> {
  const deadline = Date.now() + timeoutMs;
  const keys = Object.keys(expected) as K[];
  for (;;) {
    const counts = await probe();
    if (keys.every((k) => counts[k] >= expected[k]) || Date.now() > deadline) return counts;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function uniqueMarker(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
