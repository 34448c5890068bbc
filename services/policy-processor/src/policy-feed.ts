// Reads the policies topic from its beginning, in every processor instance (a consumer group of
// its own per start, nothing committed), and hands each publication over in order. start()
// resolves only once everything published before it is applied: a processor that decided before
// reading the policy in force would decide with an older, maybe weaker, one.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { resilientConsumer, type KafkaLogSink, type ResilientConsumer } from '@agentgate/kafka';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import type { PolicyPublished, PolicySerde } from '@agentgate/events';

export interface PolicyFeedOptions {
  kafka: Kafka;
  serde: PolicySerde;
  topic: string;
  /** A prefix the broker lets this principal use; a random suffix makes the group this start's own. */
  groupPrefix: string;
  logger: KafkaLogSink & { info(obj: object, msg: string): void };
  /** How long start() waits to read what was published before it. */
  catchUpTimeoutMs?: number;
  onPublication(publication: PolicyPublished, offset: string): void;
  /** A tombstone on `key` (see policyKey). */
  onTombstone(key: string, offset: string): void;
}

export interface PolicyFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly ready: boolean;
  /** Publications that could not be decoded. */
  readonly undecodable: number;
}

export function policyFeed(options: PolicyFeedOptions): PolicyFeed {
  const groupId = `${options.groupPrefix}-${randomUUID()}`;
  // Highest offset each partition had when we started, and what we have applied since.
  const target = new Map<number, bigint>();
  let caughtUp = false;
  let markCaughtUp: () => void = () => {};
  let undecodable = 0;
  let consumer: ResilientConsumer | undefined;

  const checkCaughtUp = (partition: number, applied: bigint): void => {
    const last = target.get(partition);
    if (last !== undefined && applied >= last) target.delete(partition);
    if (target.size === 0 && !caughtUp) {
      caughtUp = true;
      markCaughtUp();
    }
  };

  return {
    get ready() {
      return caughtUp && (consumer?.ready ?? false);
    },
    get undecodable() {
      return undecodable;
    },
    async start() {
      const admin = options.kafka.admin();
      await admin.connect();
      try {
        for (const p of await admin.fetchTopicOffsets(options.topic)) {
          // high is the next offset to be written; an empty partition has nothing to wait for.
          if (BigInt(p.high) > BigInt(p.low)) target.set(p.partition, BigInt(p.high) - 1n);
        }
      } finally {
        await admin.disconnect();
      }
      const done = new Promise<void>((resolve) => (markCaughtUp = resolve));
      if (target.size === 0) {
        caughtUp = true;
        markCaughtUp();
      }
      consumer = resilientConsumer({
        kafka: options.kafka,
        logger: options.logger,
        config: { groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 },
        async setup(c) {
          await c.subscribe({ topic: options.topic, fromBeginning: true });
          await c.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              for (const message of batch.messages) {
                const key = message.key?.toString('utf8') ?? '';
                if (message.value === null) {
                  options.onTombstone(key, message.offset);
                } else {
                  try {
                    options.onPublication(await options.serde.decode(message.value), message.offset);
                  } catch (err) {
                    undecodable++;
                    options.logger.error(
                      { code: toGatewayError(err).code, partition: batch.partition, offset: message.offset },
                      'skipping undecodable policy publication',
                    );
                  }
                }
                checkCaughtUp(batch.partition, BigInt(message.offset));
              }
              // Nothing left behind this batch (compaction may leave gaps before the end).
              if (batch.offsetLag() === '0') checkCaughtUp(batch.partition, BigInt(batch.highWatermark) - 1n);
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
              () =>
                reject(new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `the published policies were not read within ${timeoutMs / 1000} s`)),
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
