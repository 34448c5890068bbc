// Reads topics from their beginning, in every instance (a consumer group of its own per start,
// nothing committed), and hands each message over in order per partition. start() resolves only
// once everything written before it has been handed over: state rebuilt from a log (published
// policies, approvals) must be whole before anything is decided on it. It keeps reading after.
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { GatewayError } from '@agentgate/errors';
import type { KafkaLogSink } from './client.js';
import { resilientConsumer, type ResilientConsumer } from './resilient-consumer.js';

export interface CatchUpConsumerOptions {
  kafka: Kafka;
  topics: readonly string[];
  /** A prefix the broker lets this principal use; a random suffix makes the group this start's own. */
  groupPrefix: string;
  logger: KafkaLogSink;
  /** What is read, for the error when it is not read in time (e.g. "the published policies"). */
  what: string;
  /** How long start() waits to read what was written before it (default 30 s). */
  catchUpTimeoutMs?: number;
  /** One message; must not throw (decode errors are the caller's to count and log). */
  onMessage(topic: string, partition: number, message: KafkaMessage): Promise<void> | void;
}

export interface CatchUpConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Caught up and still consuming. */
  readonly ready: boolean;
}

export function catchUpConsumer(options: CatchUpConsumerOptions): CatchUpConsumer {
  const groupId = `${options.groupPrefix}-${randomUUID()}`;
  // Highest offset each topic partition had when we started, until it has been handed over.
  const target = new Map<string, bigint>();
  let caughtUp = false;
  let markCaughtUp: () => void = () => {};
  let consumer: ResilientConsumer | undefined;
  const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

  const checkCaughtUp = (topic: string, partition: number, handled: bigint): void => {
    const k = key(topic, partition);
    const last = target.get(k);
    if (last !== undefined && handled >= last) target.delete(k);
    if (target.size === 0 && !caughtUp) {
      caughtUp = true;
      markCaughtUp();
    }
  };

  return {
    get ready() {
      return caughtUp && (consumer?.ready ?? false);
    },
    async start() {
      const admin = options.kafka.admin();
      await admin.connect();
      try {
        for (const topic of options.topics) {
          for (const p of await admin.fetchTopicOffsets(topic)) {
            // high is the next offset to be written; an empty partition has nothing to wait for.
            if (BigInt(p.high) > BigInt(p.low)) target.set(key(topic, p.partition), BigInt(p.high) - 1n);
          }
        }
      } finally {
        await admin.disconnect();
      }
      const done = new Promise<void>((resolve) => {
        markCaughtUp = resolve;
      });
      if (target.size === 0) {
        caughtUp = true;
        markCaughtUp();
      }
      consumer = resilientConsumer({
        kafka: options.kafka,
        logger: options.logger,
        config: { groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 },
        async setup(c) {
          for (const topic of options.topics) await c.subscribe({ topic, fromBeginning: true });
          await c.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              for (const message of batch.messages) {
                await options.onMessage(batch.topic, batch.partition, message);
                checkCaughtUp(batch.topic, batch.partition, BigInt(message.offset));
              }
              // Nothing left behind this batch (compaction may leave gaps before the end).
              if (batch.offsetLag() === '0') checkCaughtUp(batch.topic, batch.partition, BigInt(batch.highWatermark) - 1n);
              await heartbeat();
            },
          });
        },
      });
      await consumer.start();
      const timeoutMs = options.catchUpTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          done,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `${options.what} were not read within ${timeoutMs / 1000} s`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      await consumer?.stop();
    },
  };
}
