// The checkpointer: folds every hash-chained topic and its own checkpoints topic into heads.ts's
// state, and signs a checkpoint on request (the timer in main.ts, or POST /checkpoint).
//
// Reading: every start reads all topics from the beginning in a consumer group of its own (a
// fresh id each time, offsets never committed). The state lives only in memory, and a head is
// only right if every event of the session was read: committed offsets would let a restart skip
// the history it must fold, and the checkpoints topic must be read whole to find the checkpoint
// the next one links onto. A rebuilt consumer (after a crash) re-reads the same group from the
// beginning; the fold is idempotent.
//
// Signing: one checkpoint at a time. Before deciding, it fetches the end offsets of every topic
// it reads and waits (bounded) until the consumer has read up to them; if it cannot, it signs
// nothing. The event is written acks=all by an idempotent producer, and folded in only once
// Kafka acknowledged it.
import { randomUUID, createPublicKey, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import { checkpointChainId, keyIdOf } from '@agentgate/audit-verify';
import { chainedTopics, type AuditEvent, type ChainHead, type EventSerde, type TopicNames } from '@agentgate/events';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { AUDIT_TOPIC_CONFIG, ensureTopics, resilientConsumer, withDeadline, type ResilientConsumer } from '@agentgate/kafka';
import type { Logger } from '@agentgate/observability';
import { checkpointEvent } from './checkpoint-event.js';
import { decide, evolve, initialState, type HeadsState } from './heads.js';
import { positions, type EndOffsets } from './positions.js';

const WRITE_DEADLINE_MS = 10_000;
const CATCH_UP_POLL_MS = 20;
/** How long one wait for the rebuild at start lasts before it asks Kafka for the end offsets again. */
const REBUILD_WAIT_MS = 60_000;

export interface CheckpointerOptions {
  checkpointerId: string;
  signingKey: KeyObject;
  /** The producer of checkpoint events (the service name). */
  serviceName: string;
  instanceId: string;
  consumerGroupPrefix: string;
  catchUpTimeoutMs: number;
  maxHeadsPerCheckpoint: number;
  /** The log is read in fetches of this many bytes or this long a wait (it is off the statements' path). */
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
}

export interface CheckpointerDeps {
  options: CheckpointerOptions;
  kafka: Kafka;
  serde: EventSerde;
  topics: TopicNames;
  logger: Logger;
  /** Microseconds since the epoch. */
  nowUs: () => number;
}

/** What a signed checkpoint run returns: the final checkpoint's seq, hash and end, and every head signed. */
export interface CheckpointResult {
  seq: number;
  hash: string;
  coveredUntilUs: number;
  /** The heads signed by this run (all of its checkpoints, when there were more heads than one holds). */
  heads: ChainHead[];
}

export interface Checkpointer {
  readonly keyId: string;
  /** Connects the producer and starts reading; resolves once the consumer has joined its group. */
  start(): Promise<void>;
  /** Catches up, signs, writes; rejects with AG_ERR_AUDIT_UNAVAILABLE when it cannot read or write in time. */
  checkpoint(): Promise<CheckpointResult>;
  readiness(): Record<string, boolean>;
  metrics(): string;
  stop(): Promise<void>;
}

export function createCheckpointer(deps: CheckpointerDeps): Checkpointer {
  const { kafka, serde, topics, logger, options } = deps;
  const chainId = checkpointChainId(options.checkpointerId);
  const keyId = keyIdOf(createPublicKey(options.signingKey));
  const chained = chainedTopics(topics);
  const readTopics = [...chained, topics.checkpoints];
  const groupId = `${options.consumerGroupPrefix}-${options.instanceId.replace(/[^\w.-]/g, '_')}-${randomUUID()}`;
  const state: HeadsState = initialState(options.checkpointerId, chainId);
  const read = positions();
  let consumer: ResilientConsumer | undefined;
  let producer: Producer | undefined;
  let producerConnected = false;
  let rebuilt = false;
  let stopped = false;
  // One checkpoint at a time: each links onto the one before.
  let queue: Promise<unknown> = Promise.resolve();
  const counters = { events: 0, undecodable: 0, ignored: 0, signed: 0, skipped: 0, writeFailures: 0, lastSignedUs: 0 };

  async function endOffsets(): Promise<EndOffsets[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const out: EndOffsets[] = [];
      for (const topic of readTopics) {
        for (const p of await admin.fetchTopicOffsets(topic)) out.push({ topic, partition: p.partition, low: p.low, high: p.high });
      }
      return out;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Waits until everything in Kafka now has been folded in; false when it is not within `timeoutMs`. */
  async function catchUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const ends = await withDeadline(endOffsets(), timeoutMs, 'AG_ERR_AUDIT_UNAVAILABLE', 'fetching end offsets');
    for (;;) {
      const behind = read.behind(ends);
      if (behind.length === 0) {
        if (!rebuilt)
          logger.info({ sessions: state.sessions.size, checkpoints: (state.last?.seq ?? -1) + 1 }, 'state rebuilt from the log');
        rebuilt = true;
        return true;
      }
      if (Date.now() >= deadline || stopped) {
        logger.warn({ behind: behind.slice(0, 10), partitionsBehind: behind.length }, 'not caught up with the log in time');
        return false;
      }
      await sleep(CATCH_UP_POLL_MS);
    }
  }

  function fold(topic: string, event: AuditEvent): void {
    if (topic === topics.checkpoints) {
      evolve(state, { source: 'checkpoints', event });
    } else {
      if (event.eventType === 'CheckpointSigned') {
        counters.ignored++;
        logger.warn({ topic, sessionId: event.sessionId, seq: event.seq }, 'a checkpoint outside the checkpoints topic is ignored');
      }
      evolve(state, { source: 'chained', event });
    }
  }

  async function write(event: AuditEvent): Promise<void> {
    if (!producer || !producerConnected) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the producer is not connected');
    try {
      const value = await serde.encode(topics.checkpoints, event);
      await withDeadline(
        producer.send({ topic: topics.checkpoints, acks: -1, messages: [{ key: chainId, value }] }),
        WRITE_DEADLINE_MS,
        'AG_ERR_AUDIT_UNAVAILABLE',
        'checkpoint write',
      );
    } catch (err) {
      counters.writeFailures++;
      // A write that timed out may still land; the next checkpoint reads the checkpoints topic
      // up to its end first, so it links onto such a late write instead of forking the chain.
      throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the checkpoint could not be written to Kafka', { cause: err });
    }
  }

  async function signNow(): Promise<CheckpointResult> {
    let caughtUp: boolean;
    try {
      caughtUp = await catchUp(options.catchUpTimeoutMs);
    } catch (err) {
      counters.skipped++;
      throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the end offsets could not be read; no checkpoint signed', { cause: err });
    }
    if (!caughtUp) {
      counters.skipped++;
      throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'not caught up with the log; no checkpoint signed');
    }
    const nowUs = deps.nowUs();
    const heads: ChainHead[] = [];
    for (;;) {
      const plan = decide(state, { nowUs, keyId, maxHeads: options.maxHeadsPerCheckpoint });
      if (plan === undefined) {
        counters.skipped++;
        throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the clock has not passed the previous checkpoint; none signed');
      }
      const event = checkpointEvent(plan, options.signingKey, {
        eventId: randomUUID(),
        chainId,
        producer: options.serviceName,
        timeUs: nowUs,
      });
      await write(event);
      // Kafka has it: only now is it the checkpoint the next one links onto.
      evolve(state, { source: 'checkpoints', event });
      counters.signed++;
      counters.lastSignedUs = nowUs;
      heads.push(...plan.body.heads);
      logger.info({ seq: event.seq, heads: plan.body.heads.length, coveredUntilUs: plan.body.coveredUntilUs }, 'checkpoint signed');
      if (plan.final) return { seq: event.seq, hash: event.hash, coveredUntilUs: plan.body.coveredUntilUs, heads };
    }
  }

  return {
    keyId,
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        // Made by the stack's setup; created here where allowed, with the one partition that keeps checkpoints in order.
        await ensureTopics(admin, [{ topic: topics.checkpoints, numPartitions: 1, configs: AUDIT_TOPIC_CONFIG }]);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      producerConnected = true;
      logger.info({ groupId, topics: readTopics.length }, 'reading the log from the beginning');
      consumer = resilientConsumer({
        kafka,
        logger,
        config: {
          groupId,
          minBytes: options.fetchMinBytes,
          maxWaitTimeInMs: options.fetchMaxWaitMs,
          sessionTimeout: 10_000,
          heartbeatInterval: 1000,
        },
        async setup(c) {
          for (const topic of readTopics) await c.subscribe({ topic, fromBeginning: true });
          await c.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              for (const message of batch.messages) {
                if (!message.value) continue;
                let event: AuditEvent;
                try {
                  event = (await serde.decode(message.value)).event;
                } catch (err) {
                  counters.undecodable++;
                  logger.error(
                    { code: toGatewayError(err).code, topic: batch.topic, partition: batch.partition, offset: message.offset },
                    'skipping undecodable event',
                  );
                  continue;
                }
                counters.events++;
                fold(batch.topic, event);
              }
              const last = batch.messages.at(-1)?.offset ?? batch.lastOffset();
              // Nothing left behind this batch: control records may leave gaps before the end.
              const next = batch.offsetLag() === '0' ? batch.highWatermark : (BigInt(last) + 1n).toString();
              read.advance(batch.topic, batch.partition, next);
              await heartbeat();
            },
          });
        },
      });
      await consumer.start();
      // Readiness says when the rebuild is done, without waiting for the first checkpoint.
      void (async () => {
        while (!stopped && !rebuilt) {
          const done = await catchUp(REBUILD_WAIT_MS).catch((err: unknown) => {
            logger.warn({ code: toGatewayError(err, 'AG_ERR_AUDIT_UNAVAILABLE').code }, 'rebuild progress unknown; asking again');
            return false;
          });
          if (!done && !stopped) await sleep(1000);
        }
      })();
    },
    checkpoint() {
      const run = queue.then(signNow, signNow);
      queue = run.catch(() => undefined);
      return run;
    },
    readiness: () => ({ consumerJoined: consumer?.ready ?? false, rebuilt, producerConnected }),
    metrics: () =>
      '# HELP agentgate_checkpoints_signed_total Checkpoints Kafka acknowledged.\n' +
      `# TYPE agentgate_checkpoints_signed_total counter\nagentgate_checkpoints_signed_total ${counters.signed}\n` +
      '# HELP agentgate_checkpoint_last_signed_seconds When the last checkpoint was signed (Unix time; 0: none yet).\n' +
      `# TYPE agentgate_checkpoint_last_signed_seconds gauge\nagentgate_checkpoint_last_signed_seconds ${counters.lastSignedUs / 1e6}\n` +
      '# HELP agentgate_checkpoint_sessions_tracked Sessions whose chain head is known.\n' +
      `# TYPE agentgate_checkpoint_sessions_tracked gauge\nagentgate_checkpoint_sessions_tracked ${state.sessions.size}\n` +
      '# HELP agentgate_checkpoint_skipped_total Checkpoints not signed: the log was not read in time, or the clock went back.\n' +
      `# TYPE agentgate_checkpoint_skipped_total counter\nagentgate_checkpoint_skipped_total ${counters.skipped}\n` +
      `# TYPE agentgate_checkpoint_write_failures_total counter\nagentgate_checkpoint_write_failures_total ${counters.writeFailures}\n` +
      `# TYPE agentgate_checkpointer_events_read_total counter\nagentgate_checkpointer_events_read_total ${counters.events}\n` +
      `# TYPE agentgate_checkpointer_undecodable_total counter\nagentgate_checkpointer_undecodable_total ${counters.undecodable}\n` +
      `# TYPE agentgate_checkpointer_ignored_total counter\nagentgate_checkpointer_ignored_total ${counters.ignored}\n`,
    async stop() {
      stopped = true;
      // A checkpoint in flight finishes (or fails) before the producer goes.
      await queue;
      await consumer?.stop();
      producerConnected = false;
      await producer?.disconnect().catch(() => {});
    },
  };
}
