// Reads the policies topic from its beginning, in every processor instance (a consumer group of
// its own per start, nothing committed), and hands each publication over in order. start()
// resolves only once everything published before it is applied: a processor that decided before
// reading the policy in force would decide with an older, maybe weaker, one.
import type { Kafka } from 'kafkajs';
import { catchUpConsumer, type KafkaLogSink } from '@agentgate/kafka';
import { toGatewayError } from '@agentgate/errors';
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
  let undecodable = 0;
  const feed = catchUpConsumer({
    kafka: options.kafka,
    topics: [options.topic],
    groupPrefix: options.groupPrefix,
    logger: options.logger,
    what: 'the published policies',
    ...(options.catchUpTimeoutMs === undefined ? {} : { catchUpTimeoutMs: options.catchUpTimeoutMs }),
    async onMessage(_topic, partition, message) {
      const key = message.key?.toString('utf8') ?? '';
      if (message.value === null) {
        options.onTombstone(key, message.offset);
        return;
      }
      try {
        options.onPublication(await options.serde.decode(message.value), message.offset);
      } catch (err) {
        undecodable++;
        options.logger.error(
          { code: toGatewayError(err).code, partition, offset: message.offset },
          'skipping undecodable policy publication',
        );
      }
    },
  });
  return {
    get ready() {
      return feed.ready;
    },
    get undecodable() {
      return undecodable;
    },
    start: () => feed.start(),
    stop: () => feed.stop(),
  };
}
