// Extra instances of a stack service (a second ingress, a second policy processor) that a test
// starts as its own child processes. Their environment is what `stack.sh env <service>-2` prints,
// the one `npm start -- --ingress 2 --processors 2` runs them with (stack.env, the service's Kafka
// principal, AG_SERVICE_NAME), with ports found free and an instance name of the test's own, so
// they never clash with instances the stack or an engineer already runs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, stack } from './stack.js';

export type ScalableService = 'ingress-postgres' | 'policy-processor';

/** One running instance, owned by the test that started it. */
export interface ServiceInstance {
  readonly service: ScalableService;
  readonly name: string;
  readonly pid: number;
  readonly adminPort: number;
  /** The PostgreSQL port (ingress only). */
  readonly pgPort: number | undefined;
  readonly logFile: string;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** Polls /readyz until it answers 200; throws with the log's tail if the process exits or the time runs out. */
  ready(timeoutMs: number): Promise<void>;
  /** Sends a signal (SIGKILL for a crash). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The admin endpoint's /metrics text. */
  metrics(): Promise<string>;
}

/** A TCP port of 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The environment the stack gives instance `<service>-2`, NAME=VALUE lines from stack.sh. */
function stackEnv(service: ScalableService): Record<string, string> {
  const r = spawnSync('bash', [join(ROOT, 'deploy/local/stack.sh'), 'env', `${service}-2`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stack.sh env ${service}-2 failed: ${r.stderr}`);
  const env: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/**
 * Starts an instance of `service` named `name` (its AG_INSTANCE_NAME, or the processor's
 * AG_INSTANCE_ID `policy-processor/<name>`), logging to `<stack logs>/<name>-<service>.log`.
 * Returns at once; call `ready()`. `env` adds or overrides variables.
 */
export async function startInstance(options: {
  service: ScalableService;
  name: string;
  env?: Record<string, string>;
}): Promise<ServiceInstance> {
  const { service, name } = options;
  const adminPort = await freePort();
  const pgPort = service === 'ingress-postgres' ? await freePort() : undefined;
  const own: Record<string, string> =
    service === 'ingress-postgres'
      ? { AG_PG_INGRESS_PORT: String(pgPort), AG_INGRESS_POSTGRES_ADMIN_PORT: String(adminPort), AG_INSTANCE_NAME: name }
      : { AG_POLICY_PROCESSOR_ADMIN_PORT: String(adminPort), AG_INSTANCE_ID: `policy-processor/${name}` };
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    ...stackEnv(service),
    ...own,
    ...options.env,
  };
  const logFile = join(stack.logDir, `${name}-${service}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn('node', ['--enable-source-maps', join(ROOT, `services/${service}/dist/main.js`)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Two sources into one file: neither may end it; the process's close does.
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`${service} ${name} did not start`);
  const pid = child.pid;
  const admin = `http://127.0.0.1:${adminPort}`;
  const tail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };
  return {
    service,
    name,
    pid,
    adminPort,
    pgPort,
    logFile,
    get exited() {
      return exited;
    },
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exited) throw new Error(`${service} ${name} exited before it was ready; ${logFile} ends:\n${tail()}`);
        const ok = await fetch(`${admin}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        if (Date.now() > deadline)
          throw new Error(`${service} ${name} was not ready within ${timeoutMs} ms (${admin}/readyz); ${logFile} ends:\n${tail()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    kill(signal) {
      if (!exited) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
    async metrics() {
      const r = await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(2000) });
      if (!r.ok) throw new Error(`${admin}/metrics answered ${r.status}`);
      return r.text();
    },
  };
}

/** The value of an unlabelled Prometheus counter or gauge in `text` (NaN when absent). */
export function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}
