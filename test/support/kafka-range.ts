// Reads the audit events of a span of the log straight from Kafka (the projection into
// ClickHouse is not needed, and cannot lag): every message between two snapshots of the
// topics' end offsets, decoded only when its key (the session id) is one the test asks for.
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { AuditEvent, EventSerde } from '@agentgate/events';
import { uniqueMarker } from './stack.js';

const { logLevel } = kafkajs;

/** The next offset of every partition of each topic. */
export type TopicEnds = Record<string, Record<number, bigint>>;

/** Where each topic's partitions end now. */
export async function topicEnds(admin: Admin, topics: readonly string[]): Promise<TopicEnds> {
  const ends: TopicEnds = {};
  for (const topic of topics) {
    ends[topic] = {};
    for (const p of await admin.fetchTopicOffsets(topic)) ends[topic][p.partition] = BigInt(p.high);
  }
  return ends;
}

/**
 * Every message from `from` up to `to` (exclusive) of the topics in `to` whose key passes
 * `keep`, decoded, in log order per partition. Waits until each partition was read up to its
 * end; past `timeoutMs` it throws naming the partitions still behind.
 */
export async function readRange(options: {
  kafka: Kafka;
  serde: EventSerde;
  from: TopicEnds;
  to: TopicEnds;
  keep: (key: string) => boolean;
  timeoutMs: number;
}): Promise<AuditEvent[]> {
  const topics = Object.keys(options.to);
  const next = new Map<string, bigint>();
  const pending: string[] = [];
  for (const topic of topics) {
    for (const [partition, end] of Object.entries(options.to[topic] ?? {})) {
      const start = options.from[topic]?.[Number(partition)] ?? 0n;
      next.set(`${topic}/${partition}`, start);
      if (end > start) pending.push(`${topic}/${partition}`);
    }
  }
  const found = new Map<string, AuditEvent>();
  if (pending.length === 0) return [];
  const consumer = options.kafka.consumer({ groupId: uniqueMarker('e2e-range'), maxWaitTimeInMs: 100 });
  try {
    await consumer.connect();
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const at = `${topic}/${partition}`;
        const offset = BigInt(message.offset);
        const end = options.to[topic]?.[partition] ?? 0n;
        if (offset < (options.from[topic]?.[partition] ?? 0n) || offset >= end) return;
        // A seek can deliver a message twice; the offset says which one it is.
        const id = `${at}@${offset}`;
        if (!found.has(id) && message.value && options.keep(message.key?.toString('utf8') ?? '')) {
          const { event } = await options.serde.decode(message.value);
          found.set(id, event);
        }
        if (offset + 1n > (next.get(at) ?? 0n)) next.set(at, offset + 1n);
      },
    });
    for (const at of pending) {
      const [topic, partition] = [at.slice(0, at.lastIndexOf('/')), Number(at.slice(at.lastIndexOf('/') + 1))];
      consumer.seek({ topic, partition, offset: String(options.from[topic]?.[partition] ?? 0n) });
    }
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const behind = pending.filter((at) => {
        const [topic, partition] = [at.slice(0, at.lastIndexOf('/')), Number(at.slice(at.lastIndexOf('/') + 1))];
        return (next.get(at) ?? 0n) < (options.to[topic]?.[partition] ?? 0n);
      });
      if (behind.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(`the audit log was not read to its end within ${options.timeoutMs} ms: ${behind.join(', ')} behind`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  // Log order within each partition (a session's events share one partition per topic).
  return [...found.entries()]
    .sort(([a], [b]) => {
      const [pa, oa] = a.split('@') as [string, string];
      const [pb, ob] = b.split('@') as [string, string];
      return pa === pb ? (BigInt(oa) < BigInt(ob) ? -1 : 1) : pa < pb ? -1 : 1;
    })
    .map(([, event]) => event);
}

/** A Kafka client for the test as the stack's admin, quiet. */
export function quietKafka(config: ConstructorParameters<typeof kafkajs.Kafka>[0]): Kafka {
  return new kafkajs.Kafka({ ...config, logLevel: logLevel.NOTHING });
}
