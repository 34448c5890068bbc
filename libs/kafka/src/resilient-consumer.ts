// A consumer that comes back by itself. kafkajs restarts a consumer after retriable errors,
// but gives up for good on some (e.g. "Failed to find group coordinator" once its retries
// are spent while the broker is down). Then this builds a new consumer after a backoff, so a
// Kafka outage never leaves a service alive but deaf.
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import type { KafkaLogSink } from './client.js';
import { offsetCommitter, type OffsetCommitter } from './offset-committer.js';

export interface ResilientConsumer {
  /** True once the group has been joined, until the next crash. */
  readonly ready: boolean;
  /** Resolves when the first consumer has joined its group. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ResilientConsumerOptions {
  kafka: Kafka;
  config: ConsumerConfig;
  logger: KafkaLogSink;
  /**
   * Subscribes and runs a fresh consumer (called again after each rebuild). With
   * `commitIntervalMs`, it runs the consumer with autoCommit off and reports progress to
   * `committer`, which commits on a timer and once more on stop (see offset-committer.ts).
   */
  setup(consumer: Consumer, committer: OffsetCommitter | undefined): Promise<void>;
  commitIntervalMs?: number;
  /** Backoff before a rebuild, in ms; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export function resilientConsumer(options: ResilientConsumerOptions): ResilientConsumer {
  let consumer: Consumer | undefined;
  let committer: OffsetCommitter | undefined;
  let joined = false;
  let stopped = false;
  let backoff = options.backoffMs ?? 1000;
  let rebuildTimer: NodeJS.Timeout | undefined;

  async function build(): Promise<void> {
    const c = options.kafka.consumer(options.config);
    consumer = c;
    const progress =
      options.commitIntervalMs === undefined
        ? undefined
        : offsetCommitter({
            intervalMs: options.commitIntervalMs,
            commit: (offsets) => c.commitOffsets(offsets),
            onError: (err) =>
              options.logger.warn(
                { groupId: options.config.groupId, err: (err as Error).message },
                'offset commit failed; retried with the next',
              ),
          });
    committer = progress;
    const joinedOnce = new Promise<void>((resolve) => {
      c.on(c.events.GROUP_JOIN, (e) => {
        // Progress on partitions another member now owns is that member's to commit.
        progress?.retain(e.payload.memberAssignment);
        progress?.start();
        joined = true;
        backoff = options.backoffMs ?? 1000;
        resolve();
      });
    });
    c.on(c.events.CRASH, (e) => {
      joined = false;
      void progress?.stop();
      options.logger.error(
        { groupId: options.config.groupId, err: e.payload.error.message, restart: e.payload.restart },
        'consumer crashed',
      );
      if (!e.payload.restart && !stopped) scheduleRebuild(c);
    });
    await c.connect();
    await options.setup(c, progress);
    await joinedOnce;
  }

  function scheduleRebuild(crashed: Consumer): void {
    clearTimeout(rebuildTimer);
    rebuildTimer = setTimeout(() => {
      void (async () => {
        await crashed.disconnect().catch(() => {});
        if (stopped) return;
        try {
          await build();
          options.logger.warn({ groupId: options.config.groupId }, 'consumer rebuilt after a crash');
        } catch (err) {
          options.logger.error({ groupId: options.config.groupId, err: (err as Error).message }, 'consumer rebuild failed; retrying');
          backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 10_000);
          scheduleRebuild(consumer ?? crashed);
        }
      })();
    }, backoff);
    rebuildTimer.unref();
  }

  return {
    get ready() {
      return joined;
    },
    start: build,
    async stop() {
      stopped = true;
      clearTimeout(rebuildTimer);
      await committer?.stop();
      await consumer?.disconnect().catch(() => {});
    },
  };
}
