// Builds the projector: consumes every audit topic and writes each event into ClickHouse
// once. Exactly-once into the table comes from storing Kafka positions in the rows: at
// start (and after each insert) it knows the highest offset stored per partition and
// skips anything at or below it, so a crash between insert and commit adds no duplicate.
// Policy publications (not audit events: their own schema) go to policy_publications the same way.
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { AUDIT_TOPIC_CONFIG, POLICY_TOPIC_CONFIG, ensureTopics, resilientConsumer, type ResilientConsumer } from '@agentgate/kafka';
import { auditTopics, type EventSerde, type PolicySerde, type TopicNames } from '@agentgate/events';
import { quoteIdentifier, type ClickHouseClient } from '@agentgate/clickhouse';
import { toGatewayError } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import type { ProjectorConfig } from './config.js';
import { ensureProjection } from './ddl.js';
import { eventRow, publicationRow, type EventRow } from './rows.js';

export interface ProjectorDeps {
  config: Readonly<ProjectorConfig>;
  kafka: Kafka;
  serde: EventSerde;
  policySerde: PolicySerde;
  topics: TopicNames;
  clickhouse: ClickHouseClient;
  logger: Logger;
  nowMs: () => number;
}

export interface Projector {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): Record<string, boolean>;
  metrics(): string;
}

const positionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function createProjector(deps: ProjectorDeps): Projector {
  const { config, kafka, serde, topics, clickhouse, logger } = deps;
  const db = quoteIdentifier(config.clickhouseDatabase);
  const stored = new Map<string, bigint>();
  let consumer: ResilientConsumer | undefined;
  let projected = 0;
  let rejected = 0;
  let lastLagMs = 0;

  async function loadStoredPositions(): Promise<void> {
    for (const table of ['events', 'policy_publications']) {
      const result = await clickhouse.query({
        query: `SELECT kafka_topic AS topic, kafka_partition AS partition, max(kafka_offset) AS offset FROM ${db}.${table} GROUP BY kafka_topic, kafka_partition`,
        format: 'JSONEachRow',
      });
      for (const row of await result.json<{ topic: string; partition: number | string; offset: string }>()) {
        stored.set(positionKey(row.topic, Number(row.partition)), BigInt(row.offset));
      }
    }
  }

  async function handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const key = positionKey(batch.topic, batch.partition);
    const already = stored.get(key) ?? -1n;
    const publications = batch.topic === topics.policies;
    const rows: EventRow[] = [];
    const rejects: Record<string, string | number>[] = [];
    let lastOffset: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      lastOffset = message.offset;
      if (BigInt(message.offset) <= already || !message.value) continue;
      const position = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      try {
        if (publications) {
          rows.push(publicationRow(await deps.policySerde.decode(message.value), position, deps.nowMs()));
        } else {
          const decoded = await serde.decode(message.value);
          rows.push(eventRow(decoded, position, deps.nowMs()));
          lastLagMs = Math.max(0, deps.nowMs() - decoded.event.timeUs / 1000);
        }
      } catch (err) {
        const e = toGatewayError(err, 'AG_ERR_EVENT_INVALID');
        rejects.push({
          kafka_topic: batch.topic,
          kafka_partition: batch.partition,
          kafka_offset: Number(message.offset),
          error_code: e.code,
          error_message: e.message.slice(0, 1000),
          raw_base64: message.value.toString('base64'),
          rejected_at: new Date(deps.nowMs()).toISOString().slice(0, 19).replace('T', ' '),
        });
      }
    }
    if (rejects.length > 0) {
      await clickhouse.insert({ table: `${config.clickhouseDatabase}.events_rejected`, values: rejects, format: 'JSONEachRow' });
      rejected += rejects.length;
      logger.warn({ topic: batch.topic, partition: batch.partition, count: rejects.length }, 'rejected undecodable events');
    }
    if (rows.length > 0) {
      // One INSERT is one block: it lands whole or not at all.
      const table = publications ? 'policy_publications' : 'events';
      await clickhouse.insert({ table: `${config.clickhouseDatabase}.${table}`, values: rows, format: 'JSONEachRow' });
      projected += rows.length;
    }
    if (lastOffset !== undefined) {
      if (BigInt(lastOffset) > already) stored.set(key, BigInt(lastOffset));
      resolveOffset(lastOffset);
    }
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  return {
    async start() {
      await ensureProjection(clickhouse, config.clickhouseDatabase);
      await loadStoredPositions();
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [
          ...auditTopics(topics).map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
          { topic: topics.policies, numPartitions: 1, configs: POLICY_TOPIC_CONFIG },
        ]);
      } finally {
        await admin.disconnect();
      }
      consumer = resilientConsumer({
        kafka,
        logger,
        config: { groupId: config.consumerGroup, maxWaitTimeInMs: 200, sessionTimeout: 15_000, heartbeatInterval: 1000 },
        async setup(c) {
          for (const topic of [...auditTopics(topics), topics.policies]) await c.subscribe({ topic, fromBeginning: true });
          // Rows carry their Kafka position, so committing on an interval cannot duplicate rows.
          await c.run({ autoCommit: true, autoCommitInterval: 1000, eachBatchAutoResolve: false, eachBatch: handleBatch });
        },
      });
      await consumer.start();
    },
    async stop() {
      await consumer?.stop();
      await clickhouse.close().catch(() => {});
    },
    readiness: () => ({ consumerJoined: consumer?.ready ?? false }),
    metrics: () =>
      `# TYPE agentgate_projector_events_total counter\nagentgate_projector_events_total ${projected}\n` +
      `# TYPE agentgate_projector_rejected_total counter\nagentgate_projector_rejected_total ${rejected}\n` +
      `# TYPE agentgate_projector_lag_ms gauge\nagentgate_projector_lag_ms ${lastLagMs}\n`,
  };
}
