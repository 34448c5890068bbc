// Delivers verdicts to the sessions waiting for them. Each ingress instance reads the
// whole verdict topic (its own consumer group) and keeps only verdicts it is waiting for.
import type { Kafka } from 'kafkajs';
import { broadcastConsumer } from '@agentgate/kafka';
import { GatewayError } from '@agentgate/errors';
import type { AuditEventOf, EventSerde } from '@agentgate/events';
import type { Logger } from '@agentgate/observability';

type Verdict = AuditEventOf<'VerdictIssued'>;

interface Waiter {
  resolve: (v: Verdict) => void;
  reject: (e: Error) => void;
}

export interface VerdictFeed {
  /** Registers interest before the request is written, so no verdict can slip past; the caller owns the deadline. */
  expect(requestId: string): Promise<Verdict>;
  cancel(requestId: string): void;
  readonly ready: boolean;
  pending(): number;
}

/** Pending-verdict bookkeeping, free of Kafka so it can be tested alone. */
export class VerdictWaiters {
  private readonly waiters = new Map<string, Waiter>();

  expect(requestId: string): Promise<Verdict> {
    return new Promise<Verdict>((resolve, reject) => {
      this.waiters.set(requestId, { resolve, reject });
    });
  }

  deliver(verdict: Verdict): boolean {
    const waiter = this.waiters.get(verdict.payload.requestId);
    if (!waiter) return false;
    this.waiters.delete(verdict.payload.requestId);
    waiter.resolve(verdict);
    return true;
  }

  cancel(requestId: string): void {
    const waiter = this.waiters.get(requestId);
    if (!waiter) return;
    this.waiters.delete(requestId);
  }

  failAll(error: Error): void {
    for (const [id, w] of this.waiters) {
      w.reject(error);
      this.waiters.delete(id);
    }
  }

  get size(): number {
    return this.waiters.size;
  }
}

export interface KafkaVerdictFeed extends VerdictFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function kafkaVerdictFeed(options: {
  kafka: Kafka;
  serde: EventSerde;
  topic: string;
  groupId: string;
  logger: Logger;
}): KafkaVerdictFeed {
  const waiters = new VerdictWaiters();
  const consumer = broadcastConsumer({
    kafka: options.kafka,
    topic: options.topic,
    groupId: options.groupId,
    logger: options.logger,
    partitionsConsumedConcurrently: 6,
    async onMessage(value, offset) {
      if (waiters.size === 0) return;
      try {
        const { event } = await options.serde.decode(value);
        if (event.eventType === 'VerdictIssued') waiters.deliver(event);
      } catch (err) {
        options.logger.error({ code: (err as GatewayError).code, offset }, 'undecodable verdict');
      }
    },
  });
  return {
    expect: (id) => waiters.expect(id),
    cancel: (id) => waiters.cancel(id),
    get ready() {
      return consumer.ready;
    },
    pending: () => waiters.size,
    start: () => consumer.start(),
    async stop() {
      waiters.failAll(new GatewayError('AG_ERR_SHUTTING_DOWN'));
      await consumer.stop();
    },
  };
}
