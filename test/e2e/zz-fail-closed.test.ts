// Fail closed: with Kafka stopped, a statement on an open session fails with a clear
// SQLSTATE within 5 s, and the target never runs it. Runs last (it stops Kafka).
// "Never runs it" is read from a durable side effect: the statement would create a table,
// and the target's catalogue is asked for it. (pg_stat_statements cannot tell: it keeps
// literals as $1, so a marker in a literal is never found, whether the statement ran or not.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { gatewayErrorData, mcpAgent } from '../support/mcp.js';
import { sshClientSetup, sshExec } from '../support/ssh.js';
import { eventually, pgConfig, stack, stackCommand, stackCommandAsync, targetQuery, token, uniqueMarker } from '../support/stack.js';

// dba-agents may create tables on the scratch connection; nothing else uses these names.
const DATABASE = 'scratch';
const control = uniqueMarker('fc_control');
const marker = uniqueMarker('fc_never');

function client(applicationName: string): pg.Client {
  return new pg.Client(pgConfig({ applicationName, database: DATABASE, password: token('dba-agent') }));
}

function targetHasTable(name: string): boolean {
  return targetQuery(`select count(*) from pg_class where relname = '${name}'`, DATABASE) === '1';
}

after(() => {
  stackCommand('start', 'kafka');
  targetQuery(`drop table if exists ${control}; drop table if exists ${marker}`, DATABASE);
});

test('with Kafka stopped, a statement fails with 08006 within 5 s and never reaches the target', async () => {
  const session = client(uniqueMarker('e2e_fail_closed'));
  session.on('error', () => {});
  try {
    await session.connect();
    // Control: what this session runs does show up where the check looks.
    await session.query(`create table ${control} (id int)`);
    assert.equal(targetHasTable(control), true, 'the control table is on the target');

    stackCommand('stop', 'kafka');
    const started = Date.now();
    const error = await session.query(`create table ${marker} (id int)`).then(
      () => undefined,
      (e: { code?: string; message: string; detail?: string }) => e,
    );
    const elapsed = Date.now() - started;
    assert.ok(error, 'the statement must fail');
    assert.equal(error.code, '08006');
    assert.match(error.detail ?? '', /code=AG_ERR_(AUDIT_UNAVAILABLE|VERDICT_TIMEOUT)/);
    assert.ok(elapsed < 5000, `failed after ${elapsed} ms`);
  } finally {
    await session.end().catch(() => {});
  }

  assert.equal(targetHasTable(marker), false, 'the target never ran the statement');

  // New sessions are refused too while the log is down.
  const fresh = client(uniqueMarker('e2e_fail_closed_new'));
  fresh.on('error', () => {});
  const connectError = await fresh.connect().then(
    () => undefined,
    (e: { code?: string }) => e,
  );
  await fresh.end().catch(() => {});
  assert.equal(connectError?.code, '08006');
});

test('with Kafka stopped, a new ssh exec fails within 5 s with a clear message and the target never runs it', () => {
  stackCommand('stop', 'kafka');
  const sshMarker = `/tmp/${uniqueMarker('fc_ssh_never')}`;
  const setup = sshClientSetup();
  try {
    setup.envFor('demo-agent'); // the token is fetched (and cached) before the clock starts
    const started = Date.now();
    const r = sshExec(setup, 'demo-agent', `touch ${sshMarker}`);
    const elapsed = Date.now() - started;
    assert.equal(r.status, 255, `exit status ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /agentgate: AG_ERR_(AUDIT_UNAVAILABLE|VERDICT_TIMEOUT)/);
    assert.ok(elapsed < 5000, `failed after ${elapsed} ms`);
    assert.equal(existsSync(sshMarker), false, 'the target never ran the command');
  } finally {
    rmSync(setup.dir, { recursive: true, force: true });
  }
});

test('with Kafka stopped, an MCP call on an open session and a new session get JSON-RPC errors within 5 s, and the server receives nothing', async () => {
  const log = join(stack.secretsDir, '..', 'data', 'mcp-lab', 'calls.log');
  const calls = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  // The tests before this one leave Kafka stopped: the session opens once it is back.
  await stackCommandAsync('start', 'kafka');
  // Control: a call while Kafka runs does reach the lab server's log (once the pipeline is back).
  const open = await eventually(
    async () => {
      const a = await mcpAgent('mcp-lab').catch(() => undefined);
      if (!a) return undefined;
      const ok = await a.client.callTool({ name: 'get_note', arguments: { id: 'fail-closed-control' } }).then(
        () => true,
        () => false,
      );
      if (ok) return a;
      await a.close();
      return undefined;
    },
    90_000,
    1000,
  );
  try {
    assert.match(calls(), /fail-closed-control/);
    await stackCommandAsync('stop', 'kafka');
    const before = calls();
    let started = Date.now();
    const refused = await open.client.callTool({ name: 'get_note', arguments: { id: 'fail-closed-never' } }).then(
      () => assert.fail('the call was answered'),
      (err: unknown) => gatewayErrorData(err),
    );
    assert.ok(Date.now() - started < 5000, `refused after ${Date.now() - started} ms`);
    assert.match(refused.code ?? '', /^AG_ERR_(AUDIT_UNAVAILABLE|VERDICT_TIMEOUT)$/);
    started = Date.now();
    const noSession = await mcpAgent('mcp-lab').then(
      () => assert.fail('a session opened without its audit record'),
      (err: unknown) => String((err as Error).message),
    );
    assert.ok(Date.now() - started < 5000, `refused after ${Date.now() - started} ms`);
    assert.match(noSession, /AG_ERR_AUDIT_UNAVAILABLE/);
    assert.equal(calls(), before, 'the lab server received a call');
  } finally {
    await open.client.close().catch(() => {});
  }
});

test('with Kafka stopped, an HTTP call gets 503 problem+json within 5 s', () => {
  stackCommand('stop', 'kafka');
  const bearer = token('demo-agent');
  const started = Date.now();
  const r = spawnSync(
    'curl',
    [
      '-sS',
      '--cacert',
      stack.caFile,
      '-H',
      `authorization: Bearer ${bearer}`,
      '-w',
      '\n%{http_code} %{content_type}',
      `https://127.0.0.1:${process.env['AG_HTTP_INGRESS_PORT'] ?? 18443}/registry/apis/ccompat/v7/subjects`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const elapsed = Date.now() - started;
  const cut = r.stdout.lastIndexOf('\n');
  const [status, contentType] = r.stdout.slice(cut + 1).split(' ');
  assert.equal(status, '503', r.stdout);
  assert.match(contentType ?? '', /^application\/problem\+json/);
  assert.match((JSON.parse(r.stdout.slice(0, cut)) as { code: string }).code, /^AG_ERR_(AUDIT_UNAVAILABLE|VERDICT_TIMEOUT)$/);
  assert.ok(elapsed < 5000, `answered after ${elapsed} ms`);
});

test('when Kafka is back, the gateway serves again without a restart, and the refused statement did not run late', async () => {
  stackCommand('start', 'kafka');
  const value = await eventually(
    async () => {
      const session = client(uniqueMarker('e2e_recovered'));
      session.on('error', () => {});
      try {
        await session.connect();
        return (await session.query('select 42 as v')).rows[0].v as number;
      } finally {
        await session.end().catch(() => {});
      }
    },
    60_000,
    1000,
  );
  assert.equal(value, 42);
  assert.equal(targetHasTable(marker), false, 'the target never ran the refused statement');
});
