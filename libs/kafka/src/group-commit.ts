// Group commit: every write made in the same event-loop turn, by any session, goes to Kafka in
// one produce request (kafkajs sendBatch: one request per broker, the messages of a partition in
// the order they were written), and each writer learns the outcome of that request. Nothing is
// acknowledged to a writer before the broker acknowledged the whole request (acks=all is the
// sender's). A session writes its next event only after its previous one was acknowledged, so
// its chain stays in order whatever else shares a request.

/** One message bound for a topic. */
export interface GroupMessage {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** The messages of one flush, by topic, in write order. */
export type GroupBatch = { topic: string; messages: GroupMessage[] }[];

export interface GroupCommitOptions {
  /** Sends one batch; resolves once all of it is durable, rejects if any of it may not be. */
  send(batch: GroupBatch, timeoutMs: number): Promise<void>;
  /** Runs `flush` after the current turn's writes (default setImmediate). */
  schedule?: (flush: () => void) => void;
}

export interface GroupCommit {
  /** Resolves when the request that carried `message` was acknowledged. */
  write(topic: string, message: GroupMessage, timeoutMs: number): Promise<void>;
  /** Flushes so far, and the writes they carried (for metrics). */
  stats(): { flushes: number; messages: number };
}

interface Pending {
  topic: string;
  message: GroupMessage;
  timeoutMs: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function groupCommit(options: GroupCommitOptions): GroupCommit {
  const schedule = options.schedule ?? ((f) => setImmediate(f));
  let pending: Pending[] = [];
  let flushes = 0;
  let messages = 0;

  function flush(): void {
    const writes = pending;
    pending = [];
    if (writes.length === 0) return;
    const byTopic = new Map<string, GroupMessage[]>();
    let timeoutMs = 0;
    for (const w of writes) {
      const list = byTopic.get(w.topic);
      if (list) list.push(w.message);
      else byTopic.set(w.topic, [w.message]);
      timeoutMs = Math.max(timeoutMs, w.timeoutMs);
    }
    flushes++;
    messages += writes.length;
    const batch: GroupBatch = [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
    let sent: Promise<void>;
    try {
      sent = options.send(batch, timeoutMs);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => {
        for (const w of writes) w.resolve();
      },
      (err: unknown) => {
        for (const w of writes) w.reject(err);
      },
    );
  }

  return {
    write(topic, message, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ topic, message, timeoutMs, resolve, reject });
        if (pending.length === 1) schedule(flush);
      });
    },
    stats: () => ({ flushes, messages }),
  };
}
