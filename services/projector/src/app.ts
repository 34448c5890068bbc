// Builds the projector: consumes every audit topic and writes each event into ClickHouse
// once, in batches. The batching decisions live in batcher.ts (pure); this is the shell.
//
// At-least-once from Kafka, one row per event in ClickHouse:
//   - Rows carry their Kafka position. Per (table, topic, partition) the stored offsets are a
//     prefix (see batcher.ts), so the highest one stored says what is already there: read at
//     start and after each rebalance, a message at or below it gets no second row.
//   - eachBatch only turns messages into rows and resolves them (kafkajs fetches on while a
//     batch fills); offsets are committed by the flusher, after ClickHouse accepted the rows
//     of a message and of every earlier one of its partition (autoCommit is off).
//   - A failed insert is retried after a backoff; since it may have landed anyway (a timeout),
//     the stored positions are read back first and only what is missing is inserted.
//   - Rows waiting are bounded: eachBatch waits (heartbeating) while ClickHouse lags behind.
// Undecodable messages are kept in events_rejected, never dropped, and commit like any other.
// Policy publications (not audit events: their own schema) go to policy_publications the same way.
import { setImmediate } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { AUDIT_TOPIC_CONFIG, POLICY_TOPIC_CONFIG, ensureTopics, resilientConsumer, type ResilientConsumer } from '@agentgate/kafka';
import { auditTopics, type EventSerde, type PolicySerde, type TopicNames } from '@agentgate/events';
import { quoteIdentifier, quoteString, type ClickHouseClient } from '@agentgate/clickhouse';
import { toGatewayError } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import type { ProjectorConfig } from './config.js';
import { planEventInsert, storedIdQueries, storedIdsOf } from './dedup.js';
import { migrate } from './migrations.js';
import { createBatcher, type Batch, type Batcher, type Position, type StoredPosition, type Target } from './batcher.js';
import { insertSecondsHistogram, projectorMetrics } from './metrics.js';
import { eventRow, publicationRow, type EventRow } from '@agentgate/audit-store';

export interface ProjectorDeps {
  config: Readonly<ProjectorConfig>;
  kafka: Kafka;
  serde: EventSerde;
  policySerde: PolicySerde;
  topics: TopicNames;
  clickhouse: ClickHouseClient;
  logger: Logger;
  nowMs: () => number;
  /** Retry pacing after a failed insert (tests pass a fast profile). */
  retry?: { initialMs: number; maxMs: number };
  /** How long stop() keeps trying to flush before it gives up (the rows stay uncommitted in Kafka). */
  shutdownFlushMs?: number;
}

export interface Projector {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): Record<string, boolean>;
  metrics(): string;
}

const TABLES = ['events', 'policy_publications', 'events_rejected'] as const;
const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const clickhouseDateTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

export function createProjector(deps: ProjectorDeps): Projector {
  const { config, kafka, serde, topics, clickhouse, logger, nowMs } = deps;
  const db = quoteIdentifier(config.clickhouseDatabase);
  const retry = deps.retry ?? { initialMs: 200, maxMs: 10_000 };
  let batcher: Batcher<EventRow> = createBatcher({ maxRows: config.batchRows, maxAgeMs: config.batchMaxMs });
  let consumer: ResilientConsumer | undefined;
  let flusher: Promise<void> | undefined;
  let reloading: Promise<void> = Promise.resolve();
  /** stop() called: flush whatever waits, regardless of size and age. */
  let stopping = false;
  /** The consumer has stopped: no more rows will come. */
  let consumerStopped = false;
  /** stop() gave up flushing (ClickHouse unreachable): what waits stays uncommitted in Kafka. */
  let abandoned = false;
  let wakeFlusher: () => void = () => {};
  /** The running kafkajs consumer (a crash rebuilds it) and the partitions it was assigned. */
  let kafkaConsumer: Consumer | undefined;
  let assigned = new Set<string>();
  /** The last offset committed per partition (a failed commit is retried by the next one). */
  const committed = new Map<string, bigint>();
  const maxWaitingRows = 3 * config.batchRows;
  let interruptSleep: () => void = () => {};
  let onAbandoned: () => void = () => {};
  const abandonedSignal = new Promise<void>((resolve) => {
    onAbandoned = resolve;
  });
  const waiters = new Set<() => void>();

  const rows = new Map<string, number>();
  const batches = new Map<string, number>();
  const failures = new Map<string, number>();
  const insertSeconds = insertSecondsHistogram();
  const highWatermarks = new Map<string, { topic: string; partition: number; highWatermark: bigint; firstRead: bigint }>();
  let projected = 0;
  let rejected = 0;
  let duplicatesDropped = 0;
  let idConflicts = 0;
  const bump = (m: Map<string, number>, table: string, n = 1): void => {
    m.set(table, (m.get(table) ?? 0) + n);
  };

  function notifyWaiters(): void {
    for (const w of waiters) w();
    waiters.clear();
  }

  /** Resolves on the next change of committable offsets, or after `ms`. */
  function changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /** The highest offset per partition stored in `table`, for all partitions or the ones named. */
  async function readStored(table: string, only?: readonly { topic: string; partition: number }[]): Promise<StoredPosition[]> {
    if (only?.length === 0) return [];
    const where =
      only === undefined
        ? ''
        : `WHERE ${only.map((p) => `(kafka_topic = ${quoteString(p.topic)} AND kafka_partition = ${Number(p.partition)})`).join(' OR ')}`;
    const result = await clickhouse.query({
      query: `SELECT kafka_topic AS topic, kafka_partition AS partition, max(kafka_offset) AS offset FROM ${db}.${quoteIdentifier(table)} ${where} GROUP BY kafka_topic, kafka_partition`,
      format: 'JSONEachRow',
    });
    return (await result.json<{ topic: string; partition: number | string; offset: number | string }>()).map((r) => ({
      table,
      topic: r.topic,
      partition: Number(r.partition),
      offset: BigInt(r.offset),
    }));
  }

  async function readAllStored(): Promise<StoredPosition[]> {
    const all: StoredPosition[] = [];
    for (const table of TABLES) all.push(...(await readStored(table)));
    return all;
  }

  /** The event rows not stored yet: identical copies of stored events dropped, different ones under a stored id flagged. */
  async function withoutStoredCopies(eventRows: readonly EventRow[]): Promise<readonly EventRow[]> {
    const answers: { session_id: string; event_id: string; hash: string }[] = [];
    for (const query of storedIdQueries(config.clickhouseDatabase, eventRows)) {
      const result = await clickhouse.query({ query, format: 'JSONEachRow' });
      for (const answer of await result.json<{ session_id: string; event_id: string; hash: string }>()) answers.push(answer);
    }
    const plan = planEventInsert(eventRows, storedIdsOf(answers));
    duplicatesDropped += plan.duplicates;
    if (plan.conflicts > 0) {
      idConflicts += plan.conflicts;
      logger.warn({ conflicts: plan.conflicts }, 'events with an id already stored under another hash: kept and flagged (id_conflict)');
    }
    return plan.insert;
  }

  /** Inserts one batch; false when it failed (its rows are back in the queue). */
  async function flush(table: string): Promise<boolean> {
    let batch: Batch<EventRow> | undefined = batcher.take(table);
    if (!batch) return true;
    try {
      if (batch.check) batch = batcher.landed(batch.id, await readStored(table, batch.partitions));
      const values = table === 'events' ? await withoutStoredCopies(batch.rows) : batch.rows;
      if (values.length > 0) {
        const started = performance.now();
        // One INSERT is one block: it lands whole or not at all.
        await clickhouse.insert({ table: `${config.clickhouseDatabase}.${table}`, values, format: 'JSONEachRow' });
        const seconds = (performance.now() - started) / 1000;
        insertSeconds.observe(table, seconds);
        bump(rows, table, values.length);
        bump(batches, table);
        logger.debug({ table, rows: values.length, ms: Math.round(seconds * 1000) }, 'inserted');
        if (table === 'events_rejected') {
          rejected += values.length;
          logger.warn({ count: values.length }, 'rejected undecodable events');
        } else {
          projected += values.length;
        }
      }
      batcher.succeeded(batch.id);
      await commit();
      notifyWaiters();
      return true;
    } catch (err) {
      batcher.failed(batch.id);
      bump(failures, table);
      // ClickHouse's own code and type only: its message can quote the rows.
      const e = err as { code?: unknown; type?: unknown };
      logger.warn(
        { table, rows: batch.rows.length, clickhouseCode: e.code, clickhouseType: e.type },
        'insert into ClickHouse failed; retrying',
      );
      return false;
    }
  }

  /** Partitions of this consumer whose committable offset is past the one committed. */
  function uncommitted(): Position[] {
    return batcher.committables().filter((p) => {
      const key = partitionKey(p.topic, p.partition);
      return assigned.has(key) && p.offset > (committed.get(key) ?? -1n);
    });
  }

  /**
   * Commits what ClickHouse holds (with everything before it), for the partitions this consumer
   * is assigned. Advances come from inserts and from messages that need no row (stored already).
   */
  async function commit(): Promise<void> {
    const offsets = uncommitted();
    if (offsets.length === 0 || !kafkaConsumer) return;
    try {
      // Kafka's committed offset is the next one to read.
      await kafkaConsumer.commitOffsets(offsets.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset + 1n) })));
      for (const p of offsets) {
        const key = partitionKey(p.topic, p.partition);
        if (p.offset > (committed.get(key) ?? -1n)) committed.set(key, p.offset);
      }
    } catch (err) {
      // Harmless: the rows are stored, and a re-read finds them there.
      logger.warn({ code: toGatewayError(err).code, partitions: offsets.length }, 'offset commit failed; retried with the next one');
    }
  }

  async function runFlusher(): Promise<void> {
    let backoff = 0;
    for (;;) {
      if (abandoned) return;
      const tables = batcher.due(nowMs(), stopping);
      if (tables.length === 0) {
        if (consumerStopped && batcher.pendingRows() === 0) return;
        await sleep(batcher.nextDueInMs(nowMs()) ?? 1000, true);
        continue;
      }
      const ok = await Promise.all(tables.map(flush));
      if (ok.every(Boolean)) {
        backoff = 0;
      } else {
        backoff = Math.min(Math.max(backoff * 2, retry.initialMs), retry.maxMs);
        // Jitter: instances retrying against one recovering ClickHouse do not retry in step.
        await sleep(backoff * (0.5 + Math.random() / 2), false);
      }
    }
  }

  /** Sleeps `ms`; `wakeFlusher` (new rows, stop) cuts it short when `wakeable`, stop() giving up always does. */
  function sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      interruptSleep = done;
      if (wakeable) wakeFlusher = done;
    });
  }

  /** What one message becomes: its row, or a rejected row when it cannot be decoded. */
  async function target(
    message: KafkaMessage,
    position: Position,
    publications: boolean,
  ): Promise<{ target: Target<EventRow>; eventTimeMs?: number }> {
    if (!message.value) return { target: undefined };
    const at = { topic: position.topic, partition: position.partition, offset: message.offset };
    try {
      if (publications) {
        const p = await deps.policySerde.decode(message.value);
        return { target: { table: 'policy_publications', row: publicationRow(p, at, nowMs()) }, eventTimeMs: p.publishedAtUs / 1000 };
      }
      const decoded = await serde.decode(message.value);
      return { target: { table: 'events', row: eventRow(decoded, at, nowMs()) }, eventTimeMs: decoded.event.timeUs / 1000 };
    } catch (err) {
      const e = toGatewayError(err, 'AG_ERR_EVENT_INVALID');
      return {
        target: {
          table: 'events_rejected',
          row: {
            kafka_topic: position.topic,
            kafka_partition: position.partition,
            kafka_offset: Number(message.offset),
            error_code: e.code,
            error_message: e.message.slice(0, 1000),
            raw_base64: message.value.toString('base64'),
            rejected_at: clickhouseDateTime(nowMs()),
          },
        },
      };
    }
  }

  async function handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await reloading;
    const { topic, partition } = batch;
    const publications = topic === topics.policies;
    const first = batch.messages[0];
    if (first) {
      const key = partitionKey(topic, partition);
      const firstRead = highWatermarks.get(key)?.firstRead ?? BigInt(first.offset);
      highWatermarks.set(key, { topic, partition, highWatermark: BigInt(batch.highWatermark), firstRead });
    }
    for (const [i, message] of batch.messages.entries()) {
      if (!isRunning() || isStale() || stopping) break;
      // Decoding awaits only microtasks: without a turn of the event loop now and then, the
      // flush timer, the inserts' sockets and heartbeats would all wait for the whole fetch.
      if (i % 100 === 99) await setImmediate();
      const position = { topic, partition, offset: BigInt(message.offset) };
      const { target: t, eventTimeMs } = await target(message, position, publications);
      if (stopping) break;
      batcher.add(position, t, nowMs(), eventTimeMs);
      // Resolved is "read" for kafkajs's next fetch, not committed: commit() does that.
      resolveOffset(message.offset);
    }
    wakeFlusher();
    if (batcher.committable(topic, partition) > (committed.get(partitionKey(topic, partition)) ?? -1n)) await commit();
    // ClickHouse slower than Kafka (or down): stop reading rather than hold rows without bound.
    while (batcher.pendingRows() > maxWaitingRows && isRunning() && !stopping) {
      await changed(1000);
      await heartbeat();
    }
  }

  function onGroupJoin(memberAssignment: Record<string, number[]>): void {
    const now = new Set(Object.entries(memberAssignment).flatMap(([topic, ps]) => ps.map((p) => partitionKey(topic, p))));
    for (const p of batcher.committables()) {
      if (!now.has(partitionKey(p.topic, p.partition))) batcher.forget(p.topic, p.partition);
    }
    assigned = now;
    for (const key of committed.keys()) if (!now.has(key)) committed.delete(key);
    // Another instance may have written partitions this one now owns.
    reloading = readAllStored().then(
      (stored) => batcher.raiseStored(stored),
      (err: unknown) => logger.warn({ code: toGatewayError(err).code }, 'could not read stored positions after a rebalance'),
    );
  }

  /** Resolves once every row read is in ClickHouse and committed, or stop() gave up. */
  async function drained(): Promise<void> {
    while (!abandoned && (batcher.pendingRows() > 0 || uncommitted().length > 0)) {
      wakeFlusher();
      await changed(100);
    }
  }

  return {
    async start() {
      const applied = await migrate(clickhouse, config.clickhouseDatabase);
      if (applied.length > 0) logger.info({ versions: applied }, 'applied migrations of the audit database');
      batcher = createBatcher({ maxRows: config.batchRows, maxAgeMs: config.batchMaxMs }, await readAllStored());
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
      flusher = runFlusher();
      consumer = resilientConsumer({
        kafka,
        logger,
        config: {
          groupId: config.consumerGroup,
          // The projection is off the statements' path: a fetch per event (minBytes 1) made the
          // broker, this service and ClickHouse spend CPU on every statement that the ingress and
          // the policy processor then lacked (docs/benchmarks.md, "Off-path consumers").
          minBytes: config.fetchMinBytes,
          maxWaitTimeInMs: config.fetchMaxWaitMs,
          sessionTimeout: 15_000,
          heartbeatInterval: 1000,
        },
        async setup(c) {
          kafkaConsumer = c;
          c.on(c.events.GROUP_JOIN, (e) => onGroupJoin(e.payload.memberAssignment));
          for (const topic of [...auditTopics(topics), topics.policies]) await c.subscribe({ topic, fromBeginning: true });
          await c.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: config.partitionsConcurrently,
            eachBatch: handleBatch,
          });
        },
      });
      try {
        await consumer.start();
      } catch (err) {
        consumerStopped = true;
        abandoned = true;
        interruptSleep();
        wakeFlusher();
        throw err;
      }
    },
    async stop() {
      // Flush and commit what was read, then leave the group.
      stopping = true;
      const giveUp = setTimeout(() => {
        abandoned = true;
        onAbandoned();
        notifyWaiters();
        interruptSleep();
        wakeFlusher();
        logger.warn({ pendingRows: batcher.pendingRows() }, 'stopping without flushing: the rows stay uncommitted in Kafka');
      }, deps.shutdownFlushMs ?? 10_000);
      try {
        await drained();
        await consumer?.stop();
        consumerStopped = true;
        wakeFlusher();
        // An insert that never answers must not hold the shutdown: its rows are not committed.
        await Promise.race([flusher, abandonedSignal]);
      } finally {
        clearTimeout(giveUp);
        await clickhouse.close().catch(() => {});
      }
    },
    readiness: () => ({ consumerJoined: consumer?.ready ?? false }),
    metrics: () =>
      projectorMetrics(
        { rows, batches, failures, insertSeconds, projected, rejected, duplicatesDropped, idConflicts, highWatermarks },
        batcher.partitions(),
        nowMs(),
      ),
  };
}
