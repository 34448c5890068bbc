// When a replay from the beginning has read everything that was in the log at start: each
// partition's high watermark, as the admin client reported it before consuming began. Events
// written after that are live (a notification goes out for them), those before are history.

/** One partition's offsets at start, as admin.fetchTopicOffsets reports them. */
export interface StartOffsets {
  topic: string;
  partition: number;
  /** The log start offset (first offset still held). */
  low: string;
  /** The high watermark: the offset the next message will get. */
  high: string;
}

export interface CatchUp {
  /** True once every partition has been read up to its high watermark at start. */
  readonly done: boolean;
  /** Partitions still to read. */
  readonly remaining: number;
  /** Records that the partition has been read up to (excluding) `nextOffset`. */
  advance(topic: string, partition: number, nextOffset: string): boolean;
}

export function catchUp(offsets: readonly StartOffsets[]): CatchUp {
  // Only partitions that held something at start need reading.
  const targets = new Map<string, bigint>();
  for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) targets.set(`${o.topic}\u0000${o.partition}`, BigInt(o.high));
  return {
    get done() {
      return targets.size === 0;
    },
    get remaining() {
      return targets.size;
    },
    advance(topic, partition, nextOffset) {
      const key = `${topic}\u0000${partition}`;
      const target = targets.get(key);
      if (target !== undefined && BigInt(nextOffset) >= target) targets.delete(key);
      return targets.size === 0;
    },
  };
}
