// Fail closed: with Kafka stopped, a statement on an open session fails with a clear
// SQLSTATE within 5 s, and the target never sees it. Runs last (it stops Kafka).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { eventually, pgConfig, stackCommand, targetQuery, uniqueMarker } from '../support/stack.js';

function client(applicationName: string): pg.Client {
  return new pg.Client(pgConfig({ applicationName }));
}

after(() => {
  stackCommand('start', 'kafka');
});

test('with Kafka stopped, a statement fails with 08006 within 5 s and never reaches the target', async () => {
  const session = client(uniqueMarker('e2e_fail_closed'));
  session.on('error', () => {});
  const marker = uniqueMarker('never_executed');
  try {
    await session.connect();
    assert.equal((await session.query('select 1 as one')).rows[0].one, 1);

    stackCommand('stop', 'kafka');
    const started = Date.now();
    const error = await session.query(`select '${marker}'`).then(() => undefined, (e: { code?: string; message: string; detail?: string }) => e);
    const elapsed = Date.now() - started;
    assert.ok(error, 'the statement must fail');
    assert.equal(error.code, '08006');
    assert.match(error.detail ?? '', /code=AG_ERR_(AUDIT_UNAVAILABLE|VERDICT_TIMEOUT)/);
    assert.ok(elapsed < 5000, `failed after ${elapsed} ms`);
  } finally {
    await session.end().catch(() => {});
  }

  assert.equal(targetQuery(`select count(*) from pg_stat_statements where query like '%${marker}%'`), '0');

  // New sessions are refused too while the log is down.
  const fresh = client(uniqueMarker('e2e_fail_closed_new'));
  fresh.on('error', () => {});
  const connectError = await fresh.connect().then(() => undefined, (e: { code?: string }) => e);
  await fresh.end().catch(() => {});
  assert.equal(connectError?.code, '08006');
});

test('when Kafka is back, the gateway serves again without a restart', async () => {
  stackCommand('start', 'kafka');
  const value = await eventually(async () => {
    const session = client(uniqueMarker('e2e_recovered'));
    session.on('error', () => {});
    try {
      await session.connect();
      return (await session.query('select 42 as v')).rows[0].v as number;
    } finally {
      await session.end().catch(() => {});
    }
  }, 60_000, 1000);
  assert.equal(value, 42);
});
