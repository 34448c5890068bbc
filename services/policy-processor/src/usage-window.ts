// Guardrail counts come from the log, not from the instance: at start the processor reads the
// ingress topic back from (now - the longest window) up to where its consumer group will resume,
// folding every event into the usage, so counts survive processor and ingress restarts alike.
// It stops exactly at the group's committed offsets: the main consumer folds everything after,
// and nothing is counted twice.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import type { AuditEvent, EventSerde } from '@agentgate/events';
import type { KafkaLogSink } from '@agentgate/kafka';

/** Per partition, which offsets to read back: [from, to). */
export interface ReadBackRange {
  partition: number;
  from: bigint;
  to: bigint;
}

/**
 * Pure: the ranges to read, from the first offset at or after the window's start and the
 * group's committed offsets. A partition the group never committed is read from its start by
 * the main consumer itself, so it needs no read-back.
 */
export function readBackRanges(
  byTimestamp: readonly { partition: number; offset: string }[],
  committed: readonly { partition: number; offset: string }[],
): ReadBackRange[] {
  const ranges: ReadBackRange[] = [];
  for (const { partition, offset } of committed) {
    const to = BigInt(offset);
    if (to < 0n) continue;
    const fromText = byTimestamp.find((p) => p.partition === partition)?.offset ?? '-1';
    const from = BigInt(fromText);
    // -1: no message at or after the timestamp, so nothing in the window on this partition.
    if (from < 0n || from >= to) continue;
    ranges.push({ partition, from, to });
  }
  return ranges;
}

export interface ReadBackOptions {
  kafka: Kafka;
  serde: EventSerde;
  topic: string;
  /** The main consumer's group, whose committed offsets end the read-back. */
  groupId: string;
  sinceMs: number;
  logger: KafkaLogSink;
  timeoutMs?: number;
  onEvent(event: AuditEvent): void;
}

/** Reads the window back; resolves with how many events were folded. */
export async function readBackWindow(options: ReadBackOptions): Promise<number> {
  const admin = options.kafka.admin();
  await admin.connect();
  let ranges: ReadBackRange[];
  try {
    const byTimestamp = await admin.fetchTopicOffsetsByTimestamp(options.topic, options.sinceMs);
    const [committed] = await admin.fetchOffsets({ groupId: options.groupId, topics: [options.topic] });
    ranges = readBackRanges(byTimestamp, committed?.partitions ?? []);
  } finally {
    await admin.disconnect();
  }
  if (ranges.length === 0) return 0;
  const pending = new Map(ranges.map((r) => [r.partition, r]));
  let folded = 0;
  const consumer = options.kafka.consumer({ groupId: `${options.groupId}-window-${randomUUID()}`, maxWaitTimeInMs: 100 });
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = pending.get(batch.partition);
        if (!range) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < range.from || offset >= range.to || !message.value) continue;
          try {
            options.onEvent(await options.serde.decodeSkimmed(message.value));
            folded++;
          } catch (err) {
            options.logger.error(
              { code: toGatewayError(err).code, partition: batch.partition, offset: message.offset },
              'skipping undecodable event',
            );
          }
        }
        const last = batch.messages.at(-1);
        if (last && BigInt(last.offset) >= range.to - 1n) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
      },
    });
    for (const r of ranges) consumer.seek({ topic: options.topic, partition: r.partition, offset: r.from.toString() });
    const timeoutMs = options.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `the guardrail window was not read back within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return folded;
}
