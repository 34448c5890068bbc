// The Kafka side of the approval service. Reading: every start replays the approvals and
// approval-decisions topics from the beginning in a consumer group of its own (a fresh id each
// time, offsets never committed), because the state lives only in memory and the log is the
// record; it is caught up once every partition is read to the high watermark it had at start,
// and keeps reading live after that. Writing: decisions and resolutions to approval-decisions,
// keyed by approval id, idempotent and acknowledged by all in-sync replicas before a caller is
// told they are written.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import type { AuditEvent, EventSerde, TopicNames } from '@agentgate/events';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { AUDIT_TOPIC_CONFIG, ensureTopics, resilientConsumer, withDeadline, type ResilientConsumer } from '@agentgate/kafka';
import type { Logger } from '@agentgate/observability';
import { catchUp, type CatchUp } from './catch-up.js';

const WRITE_DEADLINE_MS = 10_000;

export interface KafkaLogDeps {
  kafka: Kafka;
  serde: EventSerde;
  topics: TopicNames;
  /** Consumer group prefix the service's principal may use (libs/kafka acl-plan GROUP_PREFIXES). */
  groupPrefix: string;
  instanceId: string;
  fetchMaxWaitMs: number;
  logger: Logger;
  /** Called with each batch's decoded events, in offset order; `live` is false while replaying what was there at start. */
  onEvents(events: AuditEvent[], live: boolean): void;
}

export interface KafkaLog {
  /** Connects the producer and starts reading; resolves once the consumer has joined (not caught up: see caughtUp). */
  start(): Promise<void>;
  readonly caughtUp: boolean;
  /** Writes chained events to approval-decisions; rejects with AG_ERR_AUDIT_UNAVAILABLE unless all were acknowledged. */
  commit(events: readonly AuditEvent[]): Promise<void>;
  readiness(): Record<string, boolean>;
  metrics(): string;
  stop(): Promise<void>;
}

export function createKafkaLog(deps: KafkaLogDeps): KafkaLog {
  const { kafka, serde, topics, logger } = deps;
  const readTopics = [topics.approvals, topics.approvalDecisions];
  // A group nobody else has used: it starts at the beginning and commits nothing.
  const groupId = `${deps.groupPrefix}-${deps.instanceId.replace(/[^\w.-]/g, '_')}-${randomUUID()}`;
  let progress: CatchUp | undefined;
  let consumer: ResilientConsumer | undefined;
  let producer: Producer | undefined;
  let producerConnected = false;
  let read = 0;
  let undecodable = 0;
  let written = 0;
  let writeFailures = 0;

  async function startOffsets(): Promise<CatchUp> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Created by the stack's setup; made here as other services make theirs, where allowed.
      await ensureTopics(
        admin,
        readTopics.map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
      );
      // A topic created a moment ago may not have its leaders yet: asked again, briefly.
      for (let attempt = 1; ; attempt++) {
        try {
          const offsets = [];
          for (const topic of readTopics) {
            for (const p of await admin.fetchTopicOffsets(topic)) offsets.push({ topic, partition: p.partition, low: p.low, high: p.high });
          }
          return catchUp(offsets);
        } catch (err) {
          if (attempt >= 10 || (err as { retriable?: boolean }).retriable !== true) throw err;
          await sleep(500);
        }
      }
    } finally {
      await admin.disconnect();
    }
  }

  return {
    async start() {
      progress = await startOffsets();
      logger.info({ partitionsToRead: progress.remaining }, 'replaying approvals from the beginning');
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      producerConnected = true;
      const tracker = progress;
      consumer = resilientConsumer({
        kafka,
        logger,
        config: { groupId, maxWaitTimeInMs: deps.fetchMaxWaitMs, sessionTimeout: 10_000, heartbeatInterval: 1000 },
        async setup(c) {
          for (const topic of readTopics) await c.subscribe({ topic, fromBeginning: true });
          await c.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              const events: AuditEvent[] = [];
              for (const message of batch.messages) {
                if (!message.value) continue;
                try {
                  events.push((await serde.decode(message.value)).event);
                } catch (err) {
                  undecodable++;
                  logger.error(
                    { code: toGatewayError(err).code, topic: batch.topic, partition: batch.partition, offset: message.offset },
                    'skipping undecodable event',
                  );
                }
              }
              read += events.length;
              // Live means: everything there at start was read before this batch.
              const live = tracker.done;
              deps.onEvents(events, live);
              const last = batch.messages.at(-1)?.offset ?? batch.lastOffset();
              // Nothing left behind this batch: compaction or control records may leave gaps before the end.
              const next = batch.offsetLag() === '0' ? batch.highWatermark : (BigInt(last) + 1n).toString();
              if (!live && tracker.advance(batch.topic, batch.partition, next)) {
                logger.info({ read }, 'approvals caught up with the log');
              }
              await heartbeat();
            },
          });
        },
      });
      await consumer.start();
    },
    get caughtUp() {
      return progress?.done ?? false;
    },
    async commit(events) {
      if (events.length === 0) return;
      if (!producer || !producerConnected) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the producer is not connected');
      try {
        const messages = await Promise.all(
          events.map(async (event) => ({ key: event.sessionId, value: await serde.encode(topics.approvalDecisions, event) })),
        );
        await withDeadline(
          producer.send({ topic: topics.approvalDecisions, acks: -1, messages }),
          WRITE_DEADLINE_MS,
          'AG_ERR_AUDIT_UNAVAILABLE',
          'approval decision write',
        );
        written += events.length;
      } catch (err) {
        writeFailures++;
        const e = toGatewayError(err, 'AG_ERR_AUDIT_UNAVAILABLE');
        logger.error({ code: e.code, err: e.message }, 'approval decision write failed');
        throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the approval decision could not be written to the audit log', { cause: err });
      }
    },
    readiness: () => ({
      consumerJoined: consumer?.ready ?? false,
      caughtUp: progress?.done ?? false,
      producerConnected,
    }),
    metrics: () =>
      `# TYPE agentgate_approval_events_read_total counter\nagentgate_approval_events_read_total ${read}\n` +
      `# TYPE agentgate_approval_undecodable_total counter\nagentgate_approval_undecodable_total ${undecodable}\n` +
      `# TYPE agentgate_approval_events_written_total counter\nagentgate_approval_events_written_total ${written}\n` +
      `# TYPE agentgate_approval_write_failures_total counter\nagentgate_approval_write_failures_total ${writeFailures}\n`,
    async stop() {
      await consumer?.stop();
      producerConnected = false;
      await producer?.disconnect().catch(() => {});
    },
  };
}
