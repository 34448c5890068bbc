// Writes a session's audit events in chain order and waits until Kafka has them
// (acks=all) before the caller may act. An event that cannot be made durable within its
// budget fails the caller with AG_ERR_AUDIT_UNAVAILABLE: nothing proceeds unrecorded.
import type { Producer } from 'kafkajs';
import { GatewayError } from '@agentgate/errors';
import {
  GENESIS,
  chainEvent,
  linkAfterAbandonedVerdict,
  nextLink,
  type Actor,
  type AuditEvent,
  type AuditEventOf,
  type ChainLink,
  type EventSerde,
  type EventType,
  type PayloadByType,
} from '@agentgate/events';
import { groupCommit, REPLY_TO_HEADER, withDeadline } from '@agentgate/kafka';
import { LatencyHistogram } from '@agentgate/observability';

export interface AuditSink {
  /** Resolves once the event is durable; rejects with a GatewayError otherwise. */
  write(topic: string, event: AuditEvent, timeoutMs: number): Promise<void>;
  /**
   * Resolves once all of `events` (one session's, in chain order) are durable, written in one
   * produce request so they cost one acknowledgement; rejects with a GatewayError otherwise.
   * Without it they are written one after another.
   */
  writeAll?(topic: string, events: readonly AuditEvent[], timeoutMs: number): Promise<void>;
}

/** The Kafka sink also reports how long writes wait for their acknowledgement. */
export interface KafkaAuditSink extends AuditSink {
  metrics(): string;
}

/**
 * The Kafka sink: registry-encoded Avro, keyed by session id so a session stays ordered. Writes
 * of one event-loop turn, from every session, share one produce request (group-commit.ts), and
 * each event names this instance (REPLY_TO_HEADER) so that its verdict finds its way back.
 */
export function kafkaAuditSink(producer: Producer, serde: EventSerde, instance: string): KafkaAuditSink {
  const writeSeconds = new LatencyHistogram(
    'agentgate_audit_write_seconds',
    'From an audit event handed to the sink to its acknowledgement by Kafka (acks=all), by event type.',
    'event',
  );
  const produceSeconds = new LatencyHistogram(
    'agentgate_audit_produce_seconds',
    'One produce request of the audit sink, from sendBatch to its acknowledgement (acks=all), by the events it carried (1, 2, 3, 4+).',
    'events',
  );
  const commit = groupCommit({
    send: async (batch, timeoutMs) => {
      const started = performance.now();
      await producer.sendBatch({ acks: -1, timeout: timeoutMs, topicMessages: batch });
      const n = batch.reduce((sum, t) => sum + t.messages.length, 0);
      produceSeconds.observe(n >= 4 ? '4+' : String(n), (performance.now() - started) / 1000);
    },
  });
  const headers = { [REPLY_TO_HEADER]: instance };
  const failure = (err: unknown): GatewayError =>
    err instanceof GatewayError
      ? err
      : new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `audit log unavailable: ${(err as Error).message}`, { cause: err });
  return {
    metrics: () =>
      `${writeSeconds.render()}${produceSeconds.render()}# TYPE agentgate_audit_produce_requests_total counter\nagentgate_audit_produce_requests_total ${commit.stats().flushes}\n` +
      `# TYPE agentgate_audit_events_written_total counter\nagentgate_audit_events_written_total ${commit.stats().messages}\n`,
    async write(topic, event, timeoutMs) {
      const started = performance.now();
      const value = await serde.encode(topic, event);
      try {
        await withDeadline(
          commit.write(topic, { key: event.sessionId, value, headers }, timeoutMs),
          timeoutMs,
          'AG_ERR_AUDIT_UNAVAILABLE',
          'audit write',
        );
        writeSeconds.observe(event.eventType, (performance.now() - started) / 1000);
      } catch (err) {
        throw failure(err);
      }
    },
    async writeAll(topic, events, timeoutMs) {
      const started = performance.now();
      const values = await Promise.all(events.map((event) => serde.encode(topic, event)));
      try {
        // Handed to the group commit in one turn, in chain order: one produce request, and one
        // record batch of the session's partition, so they become durable together or not at all.
        const acked = Promise.all(
          events.map((event, i) => commit.write(topic, { key: event.sessionId, value: values[i]!, headers }, timeoutMs)),
        );
        await withDeadline(acked, timeoutMs, 'AG_ERR_AUDIT_UNAVAILABLE', 'audit write');
        const seconds = (performance.now() - started) / 1000;
        for (const event of events) writeSeconds.observe(event.eventType, seconds);
      } catch (err) {
        throw failure(err);
      }
    },
  };
}

/** One event to chain: its type, payload and (optionally) its id. */
export type ChainEntry = {
  [T in EventType]: { eventType: T; payload: PayloadByType[T]; eventId?: string };
}[EventType];

export interface SessionAuditOptions {
  sink: AuditSink;
  topic: string;
  sessionId: string;
  producer: string;
  actor: Actor;
  newEventId: () => string;
  nowUs: () => number;
}

/** The chain operations available inside {@link SessionAudit.exclusive}. */
export interface ChainWriter {
  record<T extends EventType>(eventType: T, payload: PayloadByType[T], timeoutMs: number, eventId?: string): Promise<AuditEventOf<T>>;
  /** Chains `entries` in order and makes them durable in one write (AuditSink.writeAll). */
  recordAll(entries: readonly ChainEntry[], timeoutMs: number): Promise<AuditEvent[]>;
  adopt(event: Pick<AuditEvent, 'seq' | 'hash' | 'prevHash'>): void;
  abandonVerdict(request: Pick<AuditEvent, 'seq' | 'hash'>): void;
}

/**
 * One session's side of the hash chain. It only ever chains onto acknowledged events: once
 * a write fails (the event may or may not be in Kafka), the session writes nothing more.
 * Writers take turns (`exclusive`): a request and the verdict that answers it are adjacent
 * in the chain even while responses of earlier statements are being recorded.
 */
export class SessionAudit {
  private link: ChainLink = GENESIS;
  private failed: GatewayError | undefined;
  private tail: Promise<void> = Promise.resolve();
  private readonly writer: ChainWriter = {
    record: (eventType, payload, timeoutMs, eventId) => this.recordNow(eventType, payload, timeoutMs, eventId),
    recordAll: (entries, timeoutMs) => this.recordAllNow(entries, timeoutMs),
    adopt: (event) => this.adopt(event),
    abandonVerdict: (request) => this.abandonVerdict(request),
  };

  constructor(private readonly options: SessionAuditOptions) {}

  /** Runs `fn` with the chain to itself; other writers wait their turn. */
  exclusive<T>(fn: (writer: ChainWriter) => Promise<T>): Promise<T> {
    const run = this.tail.then(() => fn(this.writer));
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Chains, writes and awaits one event of this session (in its turn). */
  record<T extends EventType>(eventType: T, payload: PayloadByType[T], timeoutMs: number, eventId?: string): Promise<AuditEventOf<T>> {
    return this.exclusive((w) => w.record(eventType, payload, timeoutMs, eventId));
  }

  /** Chains, writes and awaits `entries` as one write (in its turn): one acknowledgement for all. */
  recordAll(entries: readonly ChainEntry[], timeoutMs: number): Promise<AuditEvent[]> {
    return this.exclusive((w) => w.recordAll(entries, timeoutMs));
  }

  private async recordAllNow(entries: readonly ChainEntry[], timeoutMs: number): Promise<AuditEvent[]> {
    if (this.failed) throw this.failed;
    let link = this.link;
    const events: AuditEvent[] = [];
    for (const entry of entries) {
      const event = this.chained(entry.eventType, entry.payload, entry.eventId ?? this.options.newEventId(), link) as AuditEvent;
      events.push(event);
      link = nextLink(event);
    }
    try {
      const { sink, topic } = this.options;
      if (sink.writeAll) await sink.writeAll(topic, events, timeoutMs);
      else for (const event of events) await sink.write(topic, event, timeoutMs);
    } catch (err) {
      this.failed =
        err instanceof GatewayError ? err : new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', (err as Error).message, { cause: err });
      throw this.failed;
    }
    this.link = link;
    return events;
  }

  private chained<T extends EventType>(eventType: T, payload: PayloadByType[T], eventId: string, link: ChainLink): AuditEventOf<T> {
    return chainEvent<T>(
      {
        eventId,
        eventType,
        sessionId: this.options.sessionId,
        timeUs: this.options.nowUs(),
        producer: this.options.producer,
        traceId: null,
        actor: this.options.actor,
        payload,
      } as AuditEventOf<T>,
      link,
    );
  }

  private async recordNow<T extends EventType>(
    eventType: T,
    payload: PayloadByType[T],
    timeoutMs: number,
    eventId = this.options.newEventId(),
  ): Promise<AuditEventOf<T>> {
    if (this.failed) throw this.failed;
    const event = this.chained(eventType, payload, eventId, this.link);
    try {
      await this.options.sink.write(this.options.topic, event as AuditEvent, timeoutMs);
    } catch (err) {
      this.failed =
        err instanceof GatewayError ? err : new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', (err as Error).message, { cause: err });
      throw this.failed;
    }
    this.link = nextLink(event);
    return event;
  }

  /** Leaves the verdict slot of `request` to a verdict that came too late (see linkAfterAbandonedVerdict). */
  abandonVerdict(request: Pick<AuditEvent, 'seq' | 'hash'>): void {
    if (this.link.seq !== request.seq + 1 || this.link.prevHash !== request.hash) return;
    this.link = linkAfterAbandonedVerdict(request);
  }

  /** Continues the chain after an event another service wrote (the verdict). */
  adopt(event: Pick<AuditEvent, 'seq' | 'hash' | 'prevHash'>): void {
    if (event.seq !== this.link.seq || event.prevHash !== this.link.prevHash) {
      throw new GatewayError('AG_ERR_HASH_CHAIN_BROKEN', 'verdict does not follow the request it answers');
    }
    this.link = nextLink(event);
  }
}
