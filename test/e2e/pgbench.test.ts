// pgbench through the gateway on the scratch connection (dba-agents may run its DDL there):
// initialisation (DROP/CREATE/COPY FROM STDIN/VACUUM), then a 30 s TPC-B-like run in each
// query mode; every transaction must succeed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { stack, token } from '../support/stack.js';

const seconds = Number(process.env['AG_PGBENCH_SECONDS'] ?? 30);

function pgbench(args: string[]): Promise<{ code: number | null; out: string }> {
  const conninfo = `host=${stack.ingressHost} port=${stack.ingressPort} dbname=scratch user=dba-agent sslmode=verify-full sslrootcert=${stack.caFile} application_name=e2e_pgbench`;
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', [...args, conninfo], { env: { ...process.env, PGPASSWORD: token('dba-agent') } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('pgbench -i initialises through the gateway', async () => {
  const r = await pgbench(['-i', '-s', '1', '-q']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /done in/);
});

for (const mode of ['simple', 'extended', 'prepared']) {
  test(`pgbench -M ${mode} for ${seconds} s: every transaction succeeds`, { timeout: (seconds + 60) * 1000 }, async () => {
    const r = await pgbench(['-n', '-M', mode, '-c', '4', '-j', '2', '-T', String(seconds)]);
    assert.equal(r.code, 0, r.out);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.out)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(r.out)?.[1] ?? -1);
    assert.ok(processed > 0, r.out);
    assert.equal(failed, 0, r.out);
  });
}
