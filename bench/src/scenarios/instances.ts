// Extra instances of a stack service that the bench starts and always stops: a second ingress
// with higher session caps (the fleet) and a second policy processor (1 vs 2 processors). Their
// environment is the stack's own (.stack/run/stack.env), the service's Kafka principal, and
// ports and an instance name of the bench's. (test/support/instances.ts does the same for
// tests; the bench cannot import test code.)
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { sleep } from './context.js';

export type Service = 'ingress-postgres' | 'policy-processor';

export interface Instance {
  pid: number;
  adminPort: number;
  pgPort: number | undefined;
  logFile: string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<Instance>();
// A bench that dies on an exception still leaves no instance behind.
process.once('exit', () => {
  for (const i of running) {
    try {
      process.kill(i.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** NAME=VALUE lines of .stack/run/stack.env. */
export function stackEnv(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(root, '.stack/run/stack.env'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Starts `service` as instance `name` and waits until its /readyz answers. */
export async function startInstance(
  ctx: BenchContext,
  service: Service,
  name: string,
  extra: Record<string, string> = {},
): Promise<Instance> {
  const adminPort = await freePort();
  const pgPort = service === 'ingress-postgres' ? await freePort() : undefined;
  const own: Record<string, string> =
    service === 'ingress-postgres'
      ? { AG_PG_INGRESS_PORT: String(pgPort), AG_INGRESS_POSTGRES_ADMIN_PORT: String(adminPort), AG_INSTANCE_NAME: name }
      : { AG_POLICY_PROCESSOR_ADMIN_PORT: String(adminPort), AG_INSTANCE_ID: `policy-processor/${name}` };
  const stackVars = stackEnv(ctx.root);
  const env = {
    PATH: ctx.env['PATH'] ?? '/usr/bin:/bin',
    HOME: ctx.env['HOME'] ?? '/tmp',
    ...stackVars,
    // Each service acts as its own Kafka principal, as stack.sh starts it.
    AG_KAFKA_USERNAME: service,
    AG_KAFKA_PASSWORD_FILE: join(ctx.secretsDir, `kafka-${service}.password`),
    AG_KAFKA_CA_FILE: stackVars['AG_KAFKA_CA_FILE'] ?? ctx.caFile,
    AG_SERVICE_NAME: service,
    ...own,
    ...extra,
  };
  const logFile = join(stackVars['AG_LOG_DIR'] ?? join(ctx.root, '.stack/logs'), `${name}-${service}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn('node', ['--enable-source-maps', join(ctx.root, `services/${service}/dist/main.js`)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      log.end();
      resolve();
    }),
  );
  if (child.pid === undefined) throw new Error(`${service} ${name} did not start`);
  const admin = `http://127.0.0.1:${adminPort}`;
  const instance: Instance = {
    pid: child.pid,
    adminPort,
    pgPort,
    logFile,
    metrics: async () => (await fetch(`${admin}/metrics`)).text(),
    stop: async () => {
      running.delete(instance);
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
  running.add(instance);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`${service} ${name} exited before it was ready; see ${logFile}`);
    try {
      if ((await fetch(`${admin}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await instance.stop();
      throw new Error(`${service} ${name} not ready within 60 s; see ${logFile}`);
    }
    await sleep(250);
  }
  ctx.log(`started ${service} ${name} (pid ${child.pid}, admin ${adminPort}${pgPort ? `, postgres ${pgPort}` : ''})`);
  return instance;
}
