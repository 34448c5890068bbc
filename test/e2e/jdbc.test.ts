// The real PostgreSQL JDBC driver (pgjdbc) against the ingress: it speaks only the extended
// query protocol. The checks live in test/jdbc (a small Maven project, built here when the
// jar is missing or older than its sources); each prints `ok <name> ...` or `FAIL <name> ...`.
// Parameters of several types, a 1000-row batch in a transaction, the switch from unnamed to
// named statements at prepareThreshold, a streamed 1,000,000-row result, error and rollback.
// The reads run as demo-agent on demo; the two checks that write create TEMP tables, which
// the demo policy refuses there (deny-ddl), so they run as dba-agent on scratch.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, stack, token } from '../support/stack.js';

const PROJECT = join(ROOT, 'test/jdbc');
const JAR = join(PROJECT, 'target/agentgate-jdbc-e2e.jar');
const CHECKS = ['connect', 'connect-scratch', 'prepared-params', 'batch-insert', 'server-prepare', 'stream-1m', 'tx-rollback'];
const FIVE_MINUTES = 5 * 60 * 1000;

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function output(r: { stdout: string; stderr: string }): string {
  return `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

before(
  () => {
    const sources = Math.max(newestMtime(join(PROJECT, 'pom.xml')), newestMtime(join(PROJECT, 'src')));
    if (existsSync(JAR) && statSync(JAR).mtimeMs >= sources) return;
    // The first build fetches the driver and Maven plugins from Maven Central.
    const r = spawnSync('mvn', ['-q', '-B', '-f', 'test/jdbc/pom.xml', 'package', '-DskipTests'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: FIVE_MINUTES,
    });
    assert.equal(r.status, 0, `mvn package failed (${r.error?.message ?? `exit ${r.status}`})${output(r)}`);
    assert.ok(existsSync(JAR), `mvn package did not produce ${JAR}${output(r)}`);
  },
  { timeout: FIVE_MINUTES + 10_000 },
);

test('pgjdbc passes every extended-protocol check through the gateway', { timeout: FIVE_MINUTES + 10_000 }, () => {
  const url = (database: string, app: string): string =>
    `jdbc:postgresql://127.0.0.1:${stack.ingressPort}/${database}?sslmode=verify-full&sslrootcert=${stack.caFile}&ApplicationName=${app}`;
  const r = spawnSync('java', ['-jar', JAR], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: FIVE_MINUTES,
    env: {
      ...process.env,
      AG_JDBC_URL: url('demo', 'e2e_jdbc'),
      AG_JDBC_USER: 'demo-agent',
      AG_JDBC_PASSWORD: token('demo-agent'),
      AG_JDBC_SCRATCH_URL: url('scratch', 'e2e_jdbc_scratch'),
      AG_JDBC_SCRATCH_USER: 'dba-agent',
      AG_JDBC_SCRATCH_PASSWORD: token('dba-agent'),
    },
  });
  const lines = r.stdout.split('\n').filter((line) => line.length > 0);
  assert.deepEqual(
    lines.filter((line) => !line.startsWith('ok ')),
    [],
    `checks failed${output(r)}`,
  );
  for (const name of CHECKS) {
    assert.equal(lines.filter((line) => line.startsWith(`ok ${name} `)).length, 1, `no single ok line for ${name}${output(r)}`);
  }
  assert.equal(r.status, 0, `java exited ${r.status ?? r.signal} ${r.error?.message ?? ''}${output(r)}`);
});
