// The batching projector against real Kafka and ClickHouse, with its own topics, database and
// consumer group: a few thousand events end as exactly one row each, when the projector is
// killed mid-stream (SIGKILL, no flush) and restarted, when it is stopped and started again,
// and when ClickHouse refuses an insert or times out after storing it. Merges of the events
// table are stopped first, so a duplicate insert stays visible as a second raw row.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createClickHouse, type ClickHouseClient } from '@agentgate/clickhouse';
import {
  auditTopics,
  createEventSerde,
  createPolicySerde,
  sampleSession,
  topicNames,
  type EventSerde,
  type PolicySerde,
} from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { createProjector, type Projector } from './app.js';
import { loadConfig } from './config.js';
import { ensureProjection } from './ddl.js';

const id = randomUUID().slice(0, 8);
const logger = pino({ level: 'warn' });
const admin = createClickHouse({ ...clickhouseOptions(), database: 'default' });
let serde: EventSerde;
let policySerde: PolicySerde;
const databases: string[] = [];

function clickhouseOptions() {
  const c = loadConfig(process.env);
  return { url: c.clickhouseUrl, database: 'default', ...c.clickhouseAuth };
}

/** One scenario's own topics, database and group. */
function scenario(name: string) {
  const prefix = `it-${name}-${id}`;
  const database = `agentgate_it_${name}_${id}`;
  databases.push(database);
  const env = {
    ...process.env,
    AG_TOPIC_PREFIX: prefix,
    AG_CLICKHOUSE_DATABASE: database,
    AG_PROJECTOR_CONSUMER_GROUP: `it-projector-${name}-${id}`,
  };
  const config = loadConfig(env);
  const kafka = createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: `it-${name}-${id}`, retry: 'fast', logger });
  return { name, prefix, database, env, config, kafka, topics: topicNames(prefix) };
}
type Scenario = ReturnType<typeof scenario>;

function projector(s: Scenario, clickhouse: ClickHouseClient = createClickHouse(clickhouseOptions()), shutdownFlushMs?: number): Projector {
  return createProjector({
    config: s.config,
    kafka: s.kafka,
    serde,
    policySerde,
    topics: s.topics,
    logger,
    nowMs: () => Date.now(),
    clickhouse,
    retry: { initialMs: 20, maxMs: 200 },
    ...(shutdownFlushMs === undefined ? {} : { shutdownFlushMs }),
  });
}

/** Topics with 3 partitions each, the projection with merges stopped, then `sessions` sessions of 5 events. */
async function prepare(s: Scenario, sessions: number): Promise<number> {
  const kafkaAdmin = s.kafka.admin();
  await kafkaAdmin.connect();
  await ensureTopics(
    kafkaAdmin,
    auditTopics(s.topics).map((topic) => ({ topic, numPartitions: 3, configs: AUDIT_TOPIC_CONFIG })),
  );
  await kafkaAdmin.disconnect();
  await ensureProjection(admin, s.database);
  await admin.command({ query: `SYSTEM STOP MERGES ${s.database}.events` });
  const producer = s.kafka.producer();
  await producer.connect();
  const byTopic = new Map<string, { key: string; value: Buffer }[]>();
  let events = 0;
  for (let i = 0; i < sessions; i++) {
    for (const event of sampleSession(randomUUID(), Date.now() * 1000 + i)) {
      const topic = event.eventType === 'VerdictIssued' ? s.topics.verdicts : s.topics.ingress;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: event.sessionId, value: await serde.encode(topic, event) }]);
      events++;
    }
  }
  for (const [topic, messages] of byTopic) {
    for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  }
  await producer.disconnect();
  return events;
}

/** Raw rows (no FINAL, merges stopped) and distinct events. */
async function counts(s: Scenario): Promise<{ rows: number; events: number }> {
  const r = await admin.query({
    query: `SELECT count() AS rows, uniqExact(session_id, seq) AS events FROM ${s.database}.events`,
    format: 'JSONEachRow',
  });
  const [row] = await r.json<{ rows: string; events: string }>();
  return { rows: Number(row?.rows ?? 0), events: Number(row?.events ?? 0) };
}

/** Messages of the audit topics past the group's committed offsets. */
async function uncommitted(s: Scenario): Promise<number> {
  const kafkaAdmin = s.kafka.admin();
  await kafkaAdmin.connect();
  try {
    let lag = 0;
    for (const topic of auditTopics(s.topics)) {
      const high = new Map((await kafkaAdmin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
      const [committed] = await kafkaAdmin.fetchOffsets({ groupId: s.config.consumerGroup, topics: [topic] });
      for (const p of committed?.partitions ?? []) lag += (high.get(p.partition) ?? 0) - Math.max(0, Number(p.offset));
    }
    return lag;
  } finally {
    await kafkaAdmin.disconnect();
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Every event has its row and every offset is committed; then exactly one row per event. */
async function assertExactlyOnce(s: Scenario, events: number): Promise<void> {
  await until('every event in ClickHouse', async () => ((await counts(s)).events === events ? true : undefined));
  await until('every offset committed', async () => ((await uncommitted(s)) === 0 ? true : undefined));
  assert.deepEqual(await counts(s), { rows: events, events }, 'exactly one row per event, even before merges');
}

before(async () => {
  const c = loadConfig(process.env);
  serde = await createEventSerde({ registryUrl: c.registryUrl, topics: auditTopics(topicNames(`it-x-${id}`)) });
  policySerde = await createPolicySerde({ registryUrl: c.registryUrl, topic: topicNames(`it-x-${id}`).policies });
});

after(async () => {
  for (const database of databases) await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await admin.close();
});

test('killed mid-stream (SIGKILL, nothing flushed) and restarted: exactly one row per event', async (t) => {
  const s = scenario('kill');
  serde = await createEventSerde({ registryUrl: s.config.registryUrl, topics: auditTopics(s.topics) });
  const events = await prepare(s, 800);
  // Small batches: many inserts and commits, so the kill lands between some insert and its commit.
  const child = spawn(process.execPath, [fileURLToPath(new URL('./main.js', import.meta.url))], {
    env: { ...s.env, AG_PROJECTOR_ADMIN_PORT: '0', AG_PROJECTOR_BATCH_ROWS: '150', AG_PROJECTOR_BATCH_MS: '50', AG_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    // Best moment: right after an insert landed, before its offsets are committed (the rows a
    // restart reads again and must not duplicate). Commits follow inserts within milliseconds,
    // so the kill follows the first growth of the row count seen past a fifth of the stream.
    let seen = 0;
    await until(
      'rows growing past a fifth of the stream',
      async () => {
        const { rows } = await counts(s);
        const grew = rows > seen && seen >= events / 5;
        seen = rows;
        return grew ? true : undefined;
      },
      60_000,
      5,
    );
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const atKill = await counts(s);
  const notCommitted = await uncommitted(s);
  assert.ok(atKill.events < events, 'killed before the end (else the test proves nothing)');
  assert.ok(atKill.rows >= events - notCommitted, `${events - notCommitted} messages committed, only ${atKill.rows} rows stored`);
  // Rows stored past the committed offsets are what a restart reads again and must not duplicate.
  t.diagnostic(
    `at the kill: ${atKill.rows} rows of ${events}; ${notCommitted} messages uncommitted, ${atKill.rows - (events - notCommitted)} of them already stored`,
  );
  const second = projector(s);
  await second.start();
  try {
    await assertExactlyOnce(s, events);
  } finally {
    await second.stop();
  }
});

/** `client` with its `insert` replaced. */
function withInsert(
  client: ClickHouseClient,
  insert: (args: Parameters<ClickHouseClient['insert']>[0]) => Promise<unknown>,
): ClickHouseClient {
  return new Proxy(client, {
    get(target, key) {
      if (key === 'insert') return insert;
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('a crash while an insert is under way (it never completes) and a restart: exactly one row per event', async () => {
  const s = scenario('hang');
  serde = await createEventSerde({ registryUrl: s.config.registryUrl, topics: auditTopics(s.topics) });
  const events = await prepare(s, 600);
  const real = createClickHouse(clickhouseOptions());
  let inserts = 0;
  let hung!: () => void;
  const hanging = new Promise<void>((resolve) => {
    hung = resolve;
  });
  // The third insert never answers and never writes: the process dies in the middle of it.
  const client = withInsert(real, async (args) => {
    if (++inserts !== 3) return real.insert(args);
    hung();
    return new Promise(() => {});
  });
  const first = projector({ ...s, config: { ...s.config, batchRows: 200 } }, client, 300);
  await first.start();
  try {
    await hanging;
  } finally {
    // Flushing cannot finish: stop gives up after 300 ms, as a crash would.
    await first.stop();
  }
  const stored = await counts(s);
  assert.ok(stored.events < events);
  assert.ok(stored.rows >= events - (await uncommitted(s)), 'no offset committed whose row is not stored');
  const second = projector(s);
  await second.start();
  try {
    await assertExactlyOnce(s, events);
  } finally {
    await second.stop();
  }
});

test('stopped mid-stream and started again in-process: stop flushes and commits, no row twice', async () => {
  const s = scenario('restart');
  serde = await createEventSerde({ registryUrl: s.config.registryUrl, topics: auditTopics(s.topics) });
  const events = await prepare(s, 800);
  const first = projector(s);
  await first.start();
  try {
    await until('some rows', async () => ((await counts(s)).rows > 0 ? true : undefined));
  } finally {
    await first.stop();
  }
  assert.equal(
    (await counts(s)).rows,
    events - (await uncommitted(s)),
    'after a graceful stop, what is stored is exactly what is committed',
  );
  const second = projector(s);
  await second.start();
  try {
    await assertExactlyOnce(s, events);
  } finally {
    await second.stop();
  }
});

test('ClickHouse refusing an insert, and timing out after storing one: retried, nothing lost, nothing twice', async () => {
  const s = scenario('flaky');
  serde = await createEventSerde({ registryUrl: s.config.registryUrl, topics: auditTopics(s.topics) });
  const events = await prepare(s, 400);
  const real = createClickHouse(clickhouseOptions());
  let inserts = 0;
  const failures: string[] = [];
  // Insert 1 is refused; insert 2 is stored, then reported as failed (a timeout after the server wrote it).
  const flaky = withInsert(real, async (args) => {
    inserts++;
    if (inserts === 1) {
      failures.push('refused');
      throw new Error('injected: refused');
    }
    if (inserts === 2) {
      await real.insert(args);
      failures.push('stored, then timed out');
      throw new Error('injected: timeout after the insert');
    }
    return real.insert(args);
  });
  const p = projector({ ...s, config: { ...s.config, batchRows: 300 } }, flaky);
  await p.start();
  try {
    await assertExactlyOnce(s, events);
    assert.deepEqual(failures, ['refused', 'stored, then timed out']);
    assert.match(p.metrics(), /^agentgate_projector_insert_failures_total\{table="events"\} 2$/m);
  } finally {
    await p.stop();
  }
});
