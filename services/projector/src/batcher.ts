// The projector's batching core: pure state, no I/O, time passed in. It gathers rows per
// ClickHouse table, says when a table's batch is due (N rows, or its oldest row T ms old),
// and after a flush says which Kafka offsets became committable: per partition, the highest
// offset whose message and every earlier one of that partition is in ClickHouse.
//
// Deduplication across restarts rests on one invariant: per (table, topic, partition) the
// offsets in ClickHouse are a prefix of the offsets routed to that table. It holds because
// a table has at most one batch in flight, a failed batch goes back to the front of its queue,
// and one INSERT (one block) lands whole or not at all. So the highest offset stored per
// (table, partition) says exactly which messages are already there (`stored`), and an
// insert whose outcome is unknown (a timeout) is checked against it before it is retried.

/** A message's place in Kafka; offsets as bigint (Kafka's are int64). */
export interface Position {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** The highest offset of a partition stored in a table (read back from ClickHouse). */
export interface StoredPosition extends Position {
  readonly table: string;
}

/** What one message becomes: a row of a table, or nothing (a message without a value). */
export type Target<R> = { readonly table: string; readonly row: R } | undefined;

/** A batch handed to the shell: insert `rows` into `table`, then report success or failure. */
export interface Batch<R> {
  readonly id: number;
  readonly table: string;
  readonly rows: readonly R[];
  /**
   * True when rows of this batch were in an insert that failed: it may have landed anyway, so
   * the shell reads the stored positions of `partitions` and passes them to `landed` first.
   */
  readonly check: boolean;
  readonly partitions: readonly { topic: string; partition: number }[];
}

export interface BatcherOptions {
  /** A table's batch is due once it holds this many rows (and never holds more). */
  readonly maxRows: number;
  /** A table's batch is due once its oldest row waited this long. */
  readonly maxAgeMs: number;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Highest offset committable so far (-1n: none). Never goes backwards. */
  readonly committable: bigint;
  /** Messages read whose rows are not in ClickHouse yet. */
  readonly unprojected: number;
  /** Event time (ms) of the oldest message read but not in ClickHouse yet. */
  readonly oldestUnprojectedMs: number | undefined;
}

export interface Batcher<R> {
  /**
   * Adds one message. A message at or below an offset already added for its partition
   * (redelivered) is ignored; one already stored in its table needs no row.
   */
  add(position: Position, target: Target<R>, nowMs: number, eventTimeMs?: number): void;
  /** Tables whose batch should be flushed now (none that has a batch in flight); `all` ignores size and age. */
  due(nowMs: number, all?: boolean): string[];
  /** Milliseconds until the next batch becomes due by age (undefined: no rows waiting). */
  nextDueInMs(nowMs: number): number | undefined;
  /** Takes the front of `table`'s queue (at most maxRows rows) as a batch in flight. */
  take(table: string): Batch<R> | undefined;
  /** After a failed insert: rows at or below what ClickHouse has stored landed; returns what is left to insert. */
  landed(batchId: number, stored: readonly StoredPosition[]): Batch<R>;
  /** The insert succeeded: returns the partitions whose committable offset advanced. */
  succeeded(batchId: number): Position[];
  /** The insert failed: the rows go back to the front of their queue, nothing becomes committable. */
  failed(batchId: number): void;
  /** Raises stored positions (read back from ClickHouse at start or after a rebalance); never lowers one. */
  raiseStored(stored: readonly StoredPosition[]): void;
  /**
   * The partition moved to another consumer: its waiting rows are dropped (the new owner reads
   * them again from the last commit) and it starts afresh if it comes back. Rows in flight land.
   */
  forget(topic: string, partition: number): void;
  /** Highest committable offset of a partition (-1n when none). */
  committable(topic: string, partition: number): bigint;
  /** Per partition: its state, with counts over the rows waiting (a scan: for metrics). */
  partitions(): PartitionState[];
  /** Per partition: its committable offset only (cheap). */
  committables(): Position[];
  pendingRows(): number;
}

interface Entry {
  readonly offset: bigint;
  readonly eventTimeMs: number;
  done: boolean;
}

interface Partition {
  readonly topic: string;
  readonly partition: number;
  highestAdded: bigint;
  committable: bigint;
  /** Messages added and not yet in ClickHouse, in offset order (done ones are popped from the front). */
  readonly queue: Entry[];
}

interface Pending<R> {
  readonly table: string;
  readonly partition: Partition;
  readonly entry: Entry;
  readonly row: R;
  readonly addedMs: number;
}

interface Flight<R> {
  readonly table: string;
  rows: Pending<R>[];
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const storedKey = (table: string, topic: string, partition: number): string => `${table}\u0000${topic}\u0000${partition}`;

/** Creates an empty batcher that knows what ClickHouse already holds (`stored`). */
export function createBatcher<R>(options: BatcherOptions, stored: readonly StoredPosition[] = []): Batcher<R> {
  if (!(options.maxRows >= 1) || !(options.maxAgeMs >= 0)) throw new RangeError('maxRows must be >= 1 and maxAgeMs >= 0');
  const storedOffsets = new Map<string, bigint>();
  const partitions = new Map<string, Partition>();
  const queues = new Map<string, Pending<R>[]>();
  const flights = new Map<number, Flight<R>>();
  const inFlight = new Set<string>();
  const needsCheck = new Set<string>();
  let nextId = 1;

  function raiseStored(list: readonly StoredPosition[]): void {
    for (const s of list) {
      const key = storedKey(s.table, s.topic, s.partition);
      if (s.offset > (storedOffsets.get(key) ?? -1n)) storedOffsets.set(key, s.offset);
    }
  }
  raiseStored(stored);

  function partitionOf(topic: string, partition: number): Partition {
    const key = partitionKey(topic, partition);
    let p = partitions.get(key);
    if (!p) {
      p = { topic, partition, highestAdded: -1n, committable: -1n, queue: [] };
      partitions.set(key, p);
    }
    return p;
  }

  /** Pops done entries; returns true when the committable offset advanced. */
  function advance(p: Partition): boolean {
    let head = 0;
    while (head < p.queue.length && p.queue[head]!.done) head++;
    if (head > 0) p.queue.splice(0, head);
    const first = p.queue[0];
    const next = first ? first.offset - 1n : p.highestAdded;
    if (next > p.committable) {
      p.committable = next;
      return true;
    }
    return false;
  }

  const isStored = (table: string, p: Partition, offset: bigint): boolean =>
    offset <= (storedOffsets.get(storedKey(table, p.topic, p.partition)) ?? -1n);

  function flight(batchId: number): Flight<R> {
    const f = flights.get(batchId);
    if (!f) throw new Error(`no batch ${batchId} in flight`);
    return f;
  }

  function asBatch(id: number, f: Flight<R>, check: boolean): Batch<R> {
    const seen = new Map<string, { topic: string; partition: number }>();
    for (const r of f.rows) seen.set(partitionKey(r.partition.topic, r.partition.partition), r.partition);
    return {
      id,
      table: f.table,
      rows: f.rows.map((r) => r.row),
      check,
      partitions: [...seen.values()].map(({ topic, partition }) => ({ topic, partition })),
    };
  }

  return {
    add(position, target, nowMs, eventTimeMs = nowMs) {
      const p = partitionOf(position.topic, position.partition);
      if (position.offset <= p.highestAdded) return;
      p.highestAdded = position.offset;
      if (target === undefined || isStored(target.table, p, position.offset)) {
        if (p.queue.length > 0) p.queue.push({ offset: position.offset, eventTimeMs, done: true });
        advance(p);
        return;
      }
      const entry: Entry = { offset: position.offset, eventTimeMs, done: false };
      p.queue.push(entry);
      const queue = queues.get(target.table) ?? [];
      queue.push({ table: target.table, partition: p, entry, row: target.row, addedMs: nowMs });
      queues.set(target.table, queue);
    },

    due(nowMs, all = false) {
      const tables: string[] = [];
      for (const [table, queue] of queues) {
        const oldest = queue[0];
        if (!oldest || inFlight.has(table)) continue;
        if (all || queue.length >= options.maxRows || nowMs - oldest.addedMs >= options.maxAgeMs) tables.push(table);
      }
      return tables;
    },

    nextDueInMs(nowMs) {
      let next: number | undefined;
      for (const [table, queue] of queues) {
        const oldest = queue[0];
        if (!oldest || inFlight.has(table)) continue;
        const wait = Math.max(0, oldest.addedMs + options.maxAgeMs - nowMs);
        next = next === undefined ? wait : Math.min(next, wait);
      }
      return next;
    },

    take(table) {
      const queue = queues.get(table);
      if (!queue || queue.length === 0 || inFlight.has(table)) return undefined;
      // Rows stored meanwhile (positions raised after a rebalance) are not inserted again.
      const rows = queue.splice(0, options.maxRows).filter((r) => {
        if (!isStored(table, r.partition, r.entry.offset)) return true;
        r.entry.done = true;
        return false;
      });
      const f: Flight<R> = { table, rows };
      const id = nextId++;
      flights.set(id, f);
      inFlight.add(table);
      return asBatch(id, f, needsCheck.has(table));
    },

    landed(batchId, stored) {
      const f = flight(batchId);
      raiseStored(stored);
      const left: Pending<R>[] = [];
      for (const r of f.rows) {
        if (isStored(f.table, r.partition, r.entry.offset)) r.entry.done = true;
        else left.push(r);
      }
      f.rows = left;
      needsCheck.delete(f.table);
      return asBatch(batchId, f, false);
    },

    succeeded(batchId) {
      const f = flight(batchId);
      flights.delete(batchId);
      inFlight.delete(f.table);
      needsCheck.delete(f.table);
      const touched = new Set<Partition>();
      for (const r of f.rows) {
        r.entry.done = true;
        touched.add(r.partition);
        const key = storedKey(f.table, r.partition.topic, r.partition.partition);
        if (r.entry.offset > (storedOffsets.get(key) ?? -1n)) storedOffsets.set(key, r.entry.offset);
      }
      // Partitions whose rows `landed` or `take` found already stored may advance too.
      for (const p of partitions.values()) if (p.queue[0]?.done) touched.add(p);
      const advanced: Position[] = [];
      const current = new Set(partitions.values());
      for (const p of touched)
        if (current.has(p) && advance(p)) advanced.push({ topic: p.topic, partition: p.partition, offset: p.committable });
      return advanced;
    },

    failed(batchId) {
      const f = flight(batchId);
      flights.delete(batchId);
      inFlight.delete(f.table);
      needsCheck.add(f.table);
      queues.set(f.table, [...f.rows, ...(queues.get(f.table) ?? [])]);
    },

    raiseStored,

    forget(topic, partition) {
      const p = partitions.get(partitionKey(topic, partition));
      if (!p) return;
      partitions.delete(partitionKey(topic, partition));
      for (const [table, queue] of queues)
        queues.set(
          table,
          queue.filter((r) => r.partition !== p),
        );
    },

    committable(topic, partition) {
      return partitions.get(partitionKey(topic, partition))?.committable ?? -1n;
    },

    partitions() {
      return [...partitions.values()].map((p) => {
        let unprojected = 0;
        let oldestUnprojectedMs: number | undefined;
        for (const e of p.queue) {
          if (e.done) continue;
          unprojected++;
          if (oldestUnprojectedMs === undefined || e.eventTimeMs < oldestUnprojectedMs) oldestUnprojectedMs = e.eventTimeMs;
        }
        return { topic: p.topic, partition: p.partition, committable: p.committable, unprojected, oldestUnprojectedMs };
      });
    },

    committables() {
      return [...partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition, offset: p.committable }));
    },

    pendingRows() {
      let n = 0;
      for (const queue of queues.values()) n += queue.length;
      for (const f of flights.values()) n += f.rows.length;
      return n;
    },
  };
}
