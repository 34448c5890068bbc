// Retention and legal holds on the running stack, with the real principals: the audit API writes
// the governance topic as `audit-api` and drops partitions as ClickHouse's `retention` login.
// Two sessions are planted in two old months (2020-01 and 2020-02, far past any age the stack
// keeps); one of the 2020-01 sessions is put on hold. Retention drops 2020-02 and keeps 2020-01,
// and each hold and each month's decision is an audit event in the log; lifting the hold lets the
// next run drop 2020-01 too.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { quoteString } from '@agentgate/clickhouse';
import { ROOT, clickhouse, eventually, token } from '../support/stack.js';

const BIN = join(ROOT, 'services/cli/bin/agentgate.js');
const ch = clickhouse();
after(() => ch.close());

function agentgate(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, AGENTGATE_TOKEN: token('bob') };
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function rows<T>(sql: string): Promise<T[]> {
  return (await ch.query({ query: sql, format: 'JSONEachRow' })).json<T>();
}

/** A minimal stored session of two events on `date` (the columns retention looks at). */
async function plant(sessionId: string, date: string): Promise<void> {
  const timeUs = Date.parse(`${date}T12:00:00Z`) * 1000;
  await ch.insert({
    table: 'events',
    values: [0, 1].map((seq) => ({
      event_id: randomUUID(),
      event_type: seq === 0 ? 'SessionOpened' : 'SessionClosed',
      session_id: sessionId,
      seq,
      time_us: timeUs + seq,
      event_date: date,
      producer: 'e2e-retention',
    })),
    format: 'JSONEachRow',
  });
}

async function months(): Promise<string[]> {
  const r = await rows<{ p: string }>(
    "SELECT DISTINCT partition AS p FROM system.parts WHERE database = 'agentgate' AND table = 'events' AND active AND partition IN ('202001', '202002') ORDER BY p",
  );
  return r.map((x) => x.p);
}

test('a held session keeps its month; the other old month is dropped; holds and drops are audit events', async () => {
  const held = `e2e-retention-held-${randomUUID()}`;
  const other = `e2e-retention-other-${randomUUID()}`;
  await plant(held, '2020-01-15');
  await plant(`e2e-retention-jan-${randomUUID()}`, '2020-01-20');
  await plant(other, '2020-02-10');
  assert.deepEqual(await months(), ['202001', '202002']);

  const add = agentgate(['hold', 'add', held, '--reason', 'e2e litigation', '--json']);
  assert.equal(add.status, 0, add.stderr);
  const listed = agentgate(['hold', 'list', '--json']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.ok((JSON.parse(listed.stdout) as { holds: { sessionId: string }[] }).holds.some((h) => h.sessionId === held));

  const dry = agentgate(['retention', 'apply', '--dry-run', '--json']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.deepEqual(await months(), ['202001', '202002'], 'a dry run drops nothing');

  const applied = agentgate(['retention', 'apply', '--json']);
  assert.equal(applied.status, 0, applied.stderr);
  const plan = (JSON.parse(applied.stdout) as { partitions: { partition: string; action: string; heldSessions: string[] }[] }).partitions;
  assert.deepEqual(
    plan.filter((p) => p.partition === '202001' || p.partition === '202002').map((p) => [p.partition, p.action, p.heldSessions]),
    [
      ['202001', 'keep', [held]],
      ['202002', 'drop', []],
    ],
  );
  assert.deepEqual(await months(), ['202001']);
  // The decisions and the hold are in the audit log, written by the audit API.
  const governance = await eventually(async () => {
    const r = await rows<{ event_type: string; decision: string; outcome: string; producer: string; actor: string }>(
      `SELECT event_type, decision, outcome, producer, actor FROM events WHERE event_type IN ('RetentionApplied', 'LegalHoldChanged') AND (outcome IN ('202001', '202002') OR request_id = ${quoteString(held)})`,
    );
    return r.length >= 3 ? r : undefined;
  }, 15_000);
  assert.ok(governance.some((g) => g.event_type === 'LegalHoldChanged' && g.decision === 'add' && g.actor === 'bob'));
  assert.ok(governance.some((g) => g.event_type === 'RetentionApplied' && g.decision === 'drop' && g.outcome === '202002'));
  assert.ok(governance.some((g) => g.event_type === 'RetentionApplied' && g.decision === 'keep' && g.outcome === '202001'));
  assert.ok(governance.every((g) => g.producer.startsWith('audit-api')));

  // The hold lifted, the next run drops the month it kept.
  const removed = agentgate(['hold', 'remove', held, '--reason', 'case closed']);
  assert.equal(removed.status, 0, removed.stderr);
  assert.equal(agentgate(['retention', 'apply']).status, 0);
  assert.deepEqual(await months(), []);
  const [left] = await rows<{ n: string }>(
    `SELECT count() AS n FROM events WHERE session_id IN (${[held, other].map(quoteString).join(', ')})`,
  );
  assert.equal(Number(left?.n), 0);
});
