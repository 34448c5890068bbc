// Legal holds and retention against the real ClickHouse and Kafka, in a scratch database (the
// live events table's DDL asked from the server) and under a topic prefix of this run's own;
// the real agentgate database and topics are never touched. A small stand-in for the projector
// reads the scratch governance topic and writes each record into the scratch events table with
// the projector's own row mapping, so a hold shows in ClickHouse as it would in the stack.
//
// Rows sit in two old months and the current one; one session of the older month is held.
// Retention with a cutoff between them keeps the held month, drops the other, leaves the current
// month alone, and every drop finds its RetentionApplied record already in Kafka.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Consumer } from 'kafkajs';
import { pino } from 'pino';
import { eventRow } from '@agentgate/audit-store';
import { createClickHouse, quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { EnvReader, readKafkaAuth } from '@agentgate/config';
import { createEventSerde, topicNames, type Actor, type AuditEvent, type EventSerde } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { buildAuditApp } from './app.js';
import { createGovernancePublisher, type GovernancePublisher } from './governance-publisher.js';

const env = new EnvReader(process.env);
const kafkaAuth = readKafkaAuth(env);
const brokers = env.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']);
const registryUrl = env.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7');
env.done({});

const id = randomBytes(4).toString('hex');
const topics = topicNames(`it-retention-${id}`);
const SCRATCH = `retention_it_${id}`;
const DB = quoteIdentifier(SCRATCH);
const passwordFile = process.env['AG_CLICKHOUSE_PASSWORD_FILE'];
// The administrator makes the scratch database and, here, also drops its partitions: the
// stack's `retention` login is limited to the agentgate database, which this test never touches.
const ch = createClickHouse({
  url: process.env['AG_CLICKHOUSE_URL'] ?? 'http://127.0.0.1:18123',
  database: 'default',
  username: process.env['AG_CLICKHOUSE_USER'] ?? 'default',
  password: passwordFile ? readFileSync(passwordFile, 'utf8').trim() : '',
});
const logger = pino({ level: 'warn' });
const kafka = createKafka({ brokers, auth: kafkaAuth, clientId: `it-retention-${id}`, retry: 'fast', logger });

const BOB: Actor = {
  subject: 'bob',
  issuer: 'https://idp.example',
  groups: ['auditors'],
  actChain: [],
  tokenId: null,
  authMethod: 'oidc-access-token',
};

/** YYYYMM and a time inside it, `back` months before the current one (UTC). */
function month(back: number): { partition: string; us: number } {
  const now = new Date();
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1);
  const d = new Date(start);
  return { partition: `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`, us: (start + 10 * 86_400_000) * 1000 };
}

const HELD_MONTH = month(7);
const FREE_MONTH = month(6);
const LATER_MONTH = month(5);
const CURRENT = month(0);
/** 100 days: both old months end before the cutoff, the current month does not. */
const DAYS = 100;

const HELD = `held-${randomUUID()}`;
const NEIGHBOUR = `neighbour-${randomUUID()}`;
const FREE = `free-${randomUUID()}`;
const LATER = `later-${randomUUID()}`;
const NOW_SESSION = `now-${randomUUID()}`;

async function query<T>(sql: string): Promise<T[]> {
  const result = await ch.query({ query: sql, format: 'JSONEachRow' });
  return result.json<T>();
}

async function exec(sql: string): Promise<void> {
  await ch.command({ query: sql });
}

function row(sessionId: string, seq: number, timeUs: number): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    event_type: 'SessionOpened',
    session_id: sessionId,
    seq,
    time_us: timeUs,
    event_date: new Date(timeUs / 1000).toISOString().slice(0, 10),
    producer: 'it',
    hash_valid: 1,
    canonical_text: '{}',
    projected_at: '2026-01-01 00:00:00',
  };
}

async function insertMonth(m: { partition: string; us: number }, sessions: string[]): Promise<void> {
  await ch.insert({
    table: `${SCRATCH}.events`,
    values: sessions.flatMap((s) => [row(s, 0, m.us), row(s, 1, m.us + 1000)]),
    format: 'JSONEachRow',
  });
  await exec(`INSERT INTO ${DB}.probe_state (month, n) VALUES (${Number(m.partition)}, 1)`);
}

async function partitions(table: string): Promise<string[]> {
  const rows = await query<{ partition: string }>(
    `SELECT DISTINCT partition FROM system.parts WHERE active AND database = ${quoteString(SCRATCH)} AND table = ${quoteString(table)} ORDER BY partition`,
  );
  return rows.map((r) => r.partition);
}

let serde: EventSerde;
let publisher: GovernancePublisher;
let consumer: Consumer;
/** Every governance record read back from Kafka, in order. */
const seen: AuditEvent[] = [];
/** What happened, in order: records read back from Kafka and partitions dropped. */
const order: string[] = [];

async function waitFor(what: string, done: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const retentionRecords = (): (AuditEvent & { eventType: 'RetentionApplied' })[] =>
  seen.filter((e): e is AuditEvent & { eventType: 'RetentionApplied' } => e.eventType === 'RetentionApplied');

before(async () => {
  await exec(`CREATE DATABASE ${DB}`);
  const [ddl] = await query<{ statement: string }>('SHOW CREATE TABLE agentgate.events');
  assert.ok(ddl, 'the live events table exists');
  const own = ddl.statement.replace(/^CREATE TABLE\s+`?agentgate`?\.`?events`?/, `CREATE TABLE ${DB}.events`);
  assert.notEqual(own, ddl.statement, 'the DDL names agentgate.events');
  await exec(own);
  // A projection state table as the projector makes them: PARTITION BY month (UInt32 YYYYMM).
  await exec(`CREATE TABLE ${DB}.probe_state (month UInt32, n UInt64) ENGINE = MergeTree() PARTITION BY month ORDER BY month`);
  await insertMonth(HELD_MONTH, [HELD, NEIGHBOUR]);
  await insertMonth(FREE_MONTH, [FREE]);
  await insertMonth(LATER_MONTH, [LATER]);
  await insertMonth(CURRENT, [NOW_SESSION]);

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: topics.governance, numPartitions: 3, configs: AUDIT_TOPIC_CONFIG }]);
  await admin.disconnect();
  serde = await createEventSerde({ registryUrl, topics: [topics.governance] });
  publisher = createGovernancePublisher({ kafka, serde, topic: topics.governance, logger });
  await publisher.start();

  // The projector's stand-in: each governance record into the scratch events table.
  consumer = kafka.consumer({ groupId: `it-retention-${id}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: topics.governance, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      if (!message.value) return;
      const decoded = await serde.decode(message.value);
      seen.push(decoded.event);
      if (decoded.event.eventType === 'RetentionApplied')
        order.push(`kafka:${decoded.event.payload.action}:${decoded.event.payload.partition}`);
      const r = eventRow(decoded, { topic: topics.governance, partition, offset: message.offset }, Date.now());
      await ch.insert({ table: `${SCRATCH}.events`, values: [r], format: 'JSONEachRow' });
    },
  });
});

after(async () => {
  await consumer?.disconnect().catch(() => {});
  await publisher?.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topics.governance] }).catch(() => {});
  await admin.disconnect();
  await exec(`DROP DATABASE IF EXISTS ${DB}`).catch(() => {});
  await ch.close();
});

async function app(publish: (event: AuditEvent) => Promise<void> = (e) => publisher.publish(e)) {
  return buildAuditApp({
    verifyToken: async (token) => {
      if (token !== 'bob') throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
      return BOB;
    },
    query,
    database: SCRATCH,
    trustedKeys: async () => [],
    auditorGroup: 'auditors',
    governance: {
      publish,
      async dropPartition(sql) {
        // The partition this drop is about: its record must already be in Kafka.
        const m = /DROP PARTITION (\d{6})$/.exec(sql);
        assert.ok(m, sql);
        const p = m[1] as string;
        await waitFor(`the drop record of ${p} in Kafka`, () =>
          retentionRecords().some((e) => e.payload.partition === p && e.payload.action === 'drop'),
        );
        order.push(`drop:${/`([^`]+)` DROP/.exec(sql)?.[1]}:${p}`);
        await exec(sql);
      },
      retentionDays: 400,
      producer: 'audit-api',
      newId: randomUUID,
      nowUs: () => Date.now() * 1000,
      projectionWaitMs: 15_000,
    },
    logger,
  });
}

const auth = { authorization: 'Bearer bob' };

test('the scratch database holds the old months and the current one; the live DDL went in', async () => {
  assert.deepEqual(await partitions('events'), [HELD_MONTH.partition, FREE_MONTH.partition, LATER_MONTH.partition, CURRENT.partition]);
  assert.deepEqual(await partitions('probe_state'), [HELD_MONTH.partition, FREE_MONTH.partition, LATER_MONTH.partition, CURRENT.partition]);
});

test('a hold is written to Kafka, shows in ClickHouse before the answer, and is listed', async () => {
  const api = await app();
  const res = await api.inject({ method: 'POST', url: '/v1/holds', headers: auth, payload: { sessionId: HELD, reason: 'litigation it' } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json().projected, true);
  assert.ok(seen.some((e) => e.eventType === 'LegalHoldChanged' && e.payload.heldSessionId === HELD && e.payload.action === 'add'));
  const list = await api.inject({ method: 'GET', url: '/v1/holds', headers: auth });
  assert.deepEqual(
    list.json().holds.map((h: { sessionId: string; requestedBy: string; reason: string }) => [h.sessionId, h.requestedBy, h.reason]),
    [[HELD, 'bob', 'litigation it']],
  );
});

test('a dry run plans the old months and writes and drops nothing', async () => {
  const api = await app();
  const before = seen.length;
  const res = await api.inject({
    method: 'POST',
    url: '/v1/retention/apply',
    headers: auth,
    payload: { olderThanDays: DAYS, dryRun: true },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(
    res
      .json()
      .partitions.map((p: { partition: string; action: string; heldSessions: string[] }) => [p.partition, p.action, p.heldSessions]),
    [
      [HELD_MONTH.partition, 'keep', [HELD]],
      [FREE_MONTH.partition, 'drop', []],
      [LATER_MONTH.partition, 'drop', []],
    ],
  );
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(seen.length, before);
  assert.equal((await partitions('events')).length, 4);
});

test('when Kafka cannot take the record, nothing is dropped (503)', async () => {
  const api = await app(async () => {
    throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'kafka refused');
  });
  const res = await api.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth, payload: { olderThanDays: DAYS } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.equal((await partitions('events')).length, 4);
  assert.equal((await partitions('probe_state')).length, 4);
});

test('retention keeps the held month, drops the others after their records are in Kafka, and leaves the current month', async () => {
  const api = await app();
  const res = await api.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth, payload: { olderThanDays: DAYS } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.dryRun, false);
  assert.deepEqual(
    body.partitions.map((p: { partition: string; action: string }) => [p.partition, p.action]),
    [
      [HELD_MONTH.partition, 'keep'],
      [FREE_MONTH.partition, 'drop'],
      [LATER_MONTH.partition, 'drop'],
    ],
  );
  assert.deepEqual(await partitions('events'), [HELD_MONTH.partition, CURRENT.partition]);
  assert.deepEqual(await partitions('probe_state'), [HELD_MONTH.partition, CURRENT.partition]);
  // The held month is whole, its unheld neighbour included; the current month is untouched.
  const counts = await query<{ session_id: string; n: string }>(
    `SELECT session_id, toString(count()) AS n FROM ${DB}.events WHERE session_id IN (${[HELD, NEIGHBOUR, FREE, LATER, NOW_SESSION].map(quoteString).join(', ')}) GROUP BY session_id ORDER BY session_id`,
  );
  assert.deepEqual(Object.fromEntries(counts.map((c) => [c.session_id, c.n])), { [HELD]: '2', [NEIGHBOUR]: '2', [NOW_SESSION]: '2' });

  // Every record in Kafka before its month's first drop; each drop covers both tables.
  const firstDrop = (p: string): number => order.findIndex((o) => o.startsWith('drop:') && o.endsWith(`:${p}`));
  for (const p of [FREE_MONTH.partition, LATER_MONTH.partition]) {
    assert.ok(order.indexOf(`kafka:drop:${p}`) >= 0 && order.indexOf(`kafka:drop:${p}`) < firstDrop(p), order.join(' '));
    assert.ok(order.includes(`drop:events:${p}`) && order.includes(`drop:probe_state:${p}`), order.join(' '));
  }
  assert.ok(!order.some((o) => o.startsWith('drop:') && o.endsWith(`:${HELD_MONTH.partition}`)));
  const records = retentionRecords();
  const keep = records.find((e) => e.payload.partition === HELD_MONTH.partition);
  assert.equal(keep?.payload.action, 'keep');
  assert.deepEqual(keep?.payload.heldSessions, [HELD]);
  assert.equal(keep?.payload.requestedBy, 'bob');
  assert.equal(keep?.producer, 'audit-api');
  assert.match(keep?.sessionId ?? '', /^governance\/retention\//);
  const drop = records.find((e) => e.payload.partition === FREE_MONTH.partition);
  assert.deepEqual(drop?.payload.tables, ['events', 'probe_state']);
  assert.equal(drop?.payload.rows, 2);
  assert.equal(drop?.payload.cutoffUs, body.cutoffUs);
  assert.equal(records.filter((e) => e.payload.partition === CURRENT.partition).length, 0);
});

test('once the hold is lifted, the next run drops the month it kept', async () => {
  const api = await app();
  const res = await api.inject({
    method: 'DELETE',
    url: `/v1/holds/${encodeURIComponent(HELD)}`,
    headers: auth,
    payload: { reason: 'closed' },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().projected, true);
  assert.deepEqual((await api.inject({ method: 'GET', url: '/v1/holds', headers: auth })).json().holds, []);
  const run = await api.inject({ method: 'POST', url: '/v1/retention/apply', headers: auth, payload: { olderThanDays: DAYS } });
  assert.equal(run.statusCode, 200, run.body);
  assert.deepEqual(
    run.json().partitions.map((p: { partition: string; action: string }) => [p.partition, p.action]),
    [[HELD_MONTH.partition, 'drop']],
  );
  assert.deepEqual(await partitions('events'), [CURRENT.partition]);
});
