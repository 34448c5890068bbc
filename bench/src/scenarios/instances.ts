// Extra instances of a stack service that the bench starts and always stops: a second ingress
// with higher session caps (the fleet) and a second policy processor (1 vs 2 processors). Their
// environment is what `stack.sh env` gives a second instance (as for the stack's own and the
// e2e tests'), with ports and an instance name of the bench's. (test/support/instances.ts does
// the same for tests; the bench cannot import test code.)
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
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

/**
 * The environment the stack gives a second instance of `service` (`stack.sh env <service>-2`,
 * the same the stack and the e2e tests start instances with: stack settings, the service's own
 * Kafka principal); the bench then gives it ports and a name of its own.
 */
function instanceEnv(root: string, service: Service): Record<string, string> {
  const r = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'env', `${service}-2`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stack.sh env ${service}-2 failed: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
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
  const stackVars = instanceEnv(ctx.root, service);
  const env = {
    PATH: ctx.env['PATH'] ?? '/usr/bin:/bin',
    HOME: ctx.env['HOME'] ?? '/tmp',
    ...stackVars,
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
