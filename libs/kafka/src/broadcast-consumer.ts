// A consumer that sees every message of a topic from now on: one consumer group per
// instance, so each instance gets all partitions. Used where every instance must hear
// everything (verdicts, admin commands) and only old messages may be skipped.
import type { IHeaders, Kafka } from 'kafkajs';
import { resilientConsumer, type ResilientConsumer } from './resilient-consumer.js';
import type { KafkaLogSink } from './client.js';

/** Same lifecycle as any resilient consumer: ready, start, stop. */
export type BroadcastConsumer = ResilientConsumer;

export interface BroadcastConsumerOptions {
  kafka: Kafka;
  topic: string;
  /** Unique per running instance. */
  groupId: string;
  logger: KafkaLogSink;
  /** Partitions handled in parallel; order is kept within a partition. */
  partitionsConsumedConcurrently?: number;
  /** How long a fetch may wait at the broker for data (default 100 ms). */
  maxWaitTimeInMs?: number;
  onMessage(value: Buffer, offset: string, headers: IHeaders | undefined, partition: number): Promise<void>;
}

/** Creates a consumer of every new message of `topic`. */
export function broadcastConsumer(options: BroadcastConsumerOptions): BroadcastConsumer {
  return resilientConsumer({
    kafka: options.kafka,
    logger: options.logger,
    config: { groupId: options.groupId, maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100, sessionTimeout: 10_000, heartbeatInterval: 1000 },
    // Progress is committed on a timer, not after each batch (offset-committer.ts): a restart
    // re-reads at most a second of the topic.
    commitIntervalMs: 1000,
    async setup(consumer, committer) {
      await consumer.subscribe({ topic: options.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachMessage: async ({ message, partition, topic }) => {
          if (message.value) await options.onMessage(message.value, message.offset, message.headers, partition);
          committer?.processed(topic, partition, message.offset);
        },
      });
    },
  });
}
