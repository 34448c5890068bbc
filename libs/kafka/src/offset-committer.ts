// Commits a consumer's progress on a timer, off the fetch path. With kafkajs `autoCommit`, the
// runner awaits an OffsetCommit round trip after every batch, and its fetcher waits for every
// batch of a fetch to finish before it fetches again: each commit delays the next record by
// one broker round trip. Consumers that can re-read a few records after a crash (re-deciding
// a request, re-reading a broadcast) turn autoCommit off and commit here instead.

/** The offset to commit for a partition: the next one to read, as kafkajs takes it. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface OffsetCommitterOptions {
  /** Commits the offsets (kafkajs `consumer.commitOffsets`). */
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** Called when a commit fails; the offsets are retried with the next one. */
  onError(err: unknown): void;
  intervalMs: number;
  /** Timer functions (injected in tests). */
  setInterval?: (fn: () => void, ms: number) => { unref?: () => void };
  clearInterval?: (handle: unknown) => void;
}

export interface OffsetCommitter {
  /** Marks `offset` of the partition processed: the next commit resumes after it. */
  processed(topic: string, partition: number, offset: string): void;
  /** Forgets progress on partitions no longer assigned (after a rebalance). */
  retain(assigned: ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>>): void;
  /** Commits what was processed since the last commit. */
  flush(): Promise<void>;
  /** Starts the timer. */
  start(): void;
  /** Stops the timer and commits what is left. */
  stop(): Promise<void>;
}

export function offsetCommitter(options: OffsetCommitterOptions): OffsetCommitter {
  const setTimer = options.setInterval ?? ((fn, ms) => setInterval(fn, ms));
  const clearTimer = options.clearInterval ?? ((h) => clearInterval(h as NodeJS.Timeout));
  // topic|partition -> next offset to read, for partitions with progress not yet committed.
  const pending = new Map<string, PartitionOffset>();
  let timer: unknown;
  let committing: Promise<void> | undefined;

  async function flush(): Promise<void> {
    // One commit at a time: a slower earlier commit must not land after a later one.
    while (committing) await committing;
    if (pending.size === 0) return;
    const offsets = [...pending.values()];
    pending.clear();
    committing = options.commit(offsets).then(
      () => {},
      (err: unknown) => {
        // Put back what nothing newer has replaced, so the next commit carries it.
        for (const o of offsets) {
          const key = `${o.topic}|${o.partition}`;
          if (!pending.has(key)) pending.set(key, o);
        }
        options.onError(err);
      },
    );
    try {
      await committing;
    } finally {
      committing = undefined;
    }
  }

  return {
    processed(topic, partition, offset) {
      const next = (BigInt(offset) + 1n).toString();
      const key = `${topic}|${partition}`;
      const known = pending.get(key);
      if (known && BigInt(known.offset) >= BigInt(next)) return;
      pending.set(key, { topic, partition, offset: next });
    },
    retain(assigned) {
      const entries = assigned instanceof Map ? [...assigned] : Object.entries(assigned);
      const keep = new Set<string>();
      for (const [topic, partitions] of entries) for (const p of partitions) keep.add(`${topic}|${p}`);
      for (const key of [...pending.keys()]) if (!keep.has(key)) pending.delete(key);
    },
    flush,
    start() {
      if (timer !== undefined) return;
      const handle = setTimer(() => void flush(), options.intervalMs);
      handle.unref?.();
      timer = handle;
    },
    async stop() {
      if (timer !== undefined) clearTimer(timer);
      timer = undefined;
      await flush();
    },
  };
}
