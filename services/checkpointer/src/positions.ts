// How far the consumer has read each partition, and whether that reaches the end offsets a
// checkpoint started with. A checkpoint may only sign once everything already in Kafka when it
// started has been folded in; otherwise it would sign heads older than the log it claims to cover.

/** One partition's offsets as admin.fetchTopicOffsets reports them. */
export interface EndOffsets {
  topic: string;
  partition: number;
  /** The log start offset (first offset still held). */
  low: string;
  /** The high watermark: the offset the next record will get. */
  high: string;
}

export interface Positions {
  /** Records that `topic`/`partition` has been read up to (excluding) `nextOffset`; never moves back (a re-read after a crash). */
  advance(topic: string, partition: number, nextOffset: string): void;
  /** Partitions not yet read up to their end offset, as `topic/partition`. */
  behind(ends: readonly EndOffsets[]): string[];
}

export function positions(): Positions {
  const next = new Map<string, bigint>();
  const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
  return {
    advance(topic, partition, nextOffset) {
      const k = key(topic, partition);
      const offset = BigInt(nextOffset);
      const known = next.get(k);
      if (known === undefined || offset > known) next.set(k, offset);
    },
    behind(ends) {
      const out: string[] = [];
      for (const e of ends) {
        // An empty partition (or one whose records all expired) has nothing to wait for.
        if (BigInt(e.high) <= BigInt(e.low)) continue;
        if ((next.get(key(e.topic, e.partition)) ?? -1n) < BigInt(e.high)) out.push(`${e.topic}/${e.partition}`);
      }
      return out;
    },
  };
}
