// The projector against real Kafka, Apicurio and ClickHouse, with its own topics and
// database: events read back from ClickHouse match what was produced, the hash chain
// verifies, and a restart that re-reads the topic from the beginning adds no duplicate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createClickHouse, quoteString } from '@agentgate/clickhouse';
import {
  auditTopics,
  canonicalEventText,
  createEventSerde,
  createPolicySerde,
  sampleSession,
  topicNames,
  verifyStoredChain,
  type AuditEvent,
  type EventSerde,
  type PolicySerde,
} from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { createProjector, type Projector } from './app.js';
import { loadConfig } from './config.js';

const id = randomUUID().slice(0, 8);
const topics = topicNames(`it-${id}`);
const database = `agentgate_it_${id}`;
const env = process.env;
const config = loadConfig({
  ...env,
  AG_TOPIC_PREFIX: `it-${id}`,
  AG_CLICKHOUSE_DATABASE: database,
  AG_PROJECTOR_CONSUMER_GROUP: `it-projector-${id}`,
});
const logger = pino({ level: 'warn' });
const kafka = createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: `it-${id}`, retry: 'fast', logger });
const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth });
let serde: EventSerde;
let policySerde: PolicySerde;

function newProjector(): Projector {
  return createProjector({
    config,
    kafka,
    serde,
    policySerde,
    topics,
    logger,
    nowMs: () => Date.now(),
    clickhouse: createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth }),
  });
}

/** Produces a session's events; `partitions` pins a topic's events to one partition (else the key decides). */
async function produce(events: AuditEvent[], partitions: ReadonlyMap<string, number> = new Map()): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (const event of events) {
    const topic = event.eventType === 'VerdictIssued' ? topics.verdicts : topics.ingress;
    const partition = partitions.get(topic);
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: event.sessionId, value: await serde.encode(topic, event), ...(partition === undefined ? {} : { partition }) }],
    });
  }
  await producer.disconnect();
}

async function rows(sessionId: string): Promise<Record<string, string>[]> {
  const r = await clickhouse.query({
    query: `SELECT * FROM ${database}.events WHERE session_id = ${quoteString(sessionId)} ORDER BY seq`,
    format: 'JSONEachRow',
  });
  return r.json<Record<string, string>>();
}

async function until<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  serde = await createEventSerde({ registryUrl: config.registryUrl, topics: auditTopics(topics) });
  policySerde = await createPolicySerde({ registryUrl: config.registryUrl, topic: topics.policies });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    auditTopics(topics).map((topic) => ({ topic, numPartitions: 3, configs: AUDIT_TOPIC_CONFIG })),
  );
  await admin.disconnect();
});

after(async () => {
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await clickhouse.close();
});

test('events read back from ClickHouse match what was produced and the chain verifies; a restart adds no duplicate', async () => {
  const produced = sampleSession(randomUUID());
  const sessionId = produced[0]!.sessionId;
  await produce(produced);

  // A failed assertion must not leave a consumer running (the file would never end).
  const first = newProjector();
  await first.start();
  let stored: Record<string, string>[];
  try {
    stored = await until(async () => {
      const r = await rows(sessionId);
      return r.length === produced.length ? r : undefined;
    });
    for (const [i, event] of produced.entries()) {
      const row = stored[i]!;
      assert.equal(row['event_id'], event.eventId);
      assert.equal(row['event_type'], event.eventType);
      assert.equal(Number(row['seq']), event.seq);
      assert.equal(row['hash'], event.hash);
      assert.equal(row['prev_hash'], event.prevHash ?? '');
      assert.equal(row['canonical_text'], canonicalEventText(event));
      assert.equal(Number(row['hash_valid']), 1);
      assert.equal(row['subject'], event.actor?.subject);
      // The fixture's chain holds no actor beyond its first link, so the subject is the actor.
      assert.equal(row['actor'], event.actor?.subject);
    }
    assert.deepEqual(
      verifyStoredChain(
        stored.map((r) => ({
          seq: Number(r['seq']),
          hash: r['hash']!,
          prevHash: r['prev_hash'] || null,
          canonicalText: r['canonical_text']!,
        })),
      ),
      { ok: true, length: produced.length },
    );
  } finally {
    await first.stop();
  }

  // Simulate a crash between insert and offset commit: the group starts over from the beginning.
  const admin = kafka.admin();
  await admin.connect();
  for (const topic of auditTopics(topics)) await admin.resetOffsets({ groupId: config.consumerGroup, topic, earliest: true });
  await admin.disconnect();

  // A background merge of the ReplacingMergeTree would fold duplicates away before they are
  // counted; with merges stopped, the raw rows show what was inserted.
  await clickhouse.command({ query: `SYSTEM STOP MERGES ${database}.events` });
  // The checks below mean something only once the second projector has read past the first
  // session again: a later session on the very partitions the first one used marks that point.
  const second = newProjector();
  await second.start();
  try {
    const later = sampleSession(randomUUID());
    await produce(later, new Map(stored.map((r) => [r['kafka_topic']!, Number(r['kafka_partition'])])));
    await until(async () => ((await rows(later[0]!.sessionId)).length === later.length ? true : undefined));
    assert.equal((await rows(sessionId)).length, produced.length, 'no duplicate rows, even before merges');
    assert.match(
      second.metrics(),
      new RegExp(`^agentgate_projector_events_total ${later.length}$`, 'm'),
      'the restarted projector inserted only the later session',
    );
  } finally {
    await second.stop();
  }
});
