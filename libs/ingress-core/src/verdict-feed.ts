// Delivers verdicts to the sessions waiting for them. Each ingress instance reads the
// whole verdict topic (its own consumer group) and keeps only verdicts it is waiting for.
// A verdict is delivered only if it authentically answers the durable request (see
// checkVerdict); anything else is counted, logged and ignored, and the session keeps
// waiting for the real verdict until its deadline.
import type { Kafka } from 'kafkajs';
import { broadcastConsumer, routeVerdict, type VerdictRoute } from '@agentgate/kafka';
import { GatewayError } from '@agentgate/errors';
import { checkVerdict, type AuditEventOf, type EventSerde, type VerdictRejection } from '@agentgate/events';
import { LatencyHistogram, type Logger } from '@agentgate/observability';

type Verdict = AuditEventOf<'VerdictIssued'>;
type Request = AuditEventOf<'RequestObserved'>;

/** One request's wait for its verdict, registered before the request is written. */
export interface VerdictWait {
  /**
   * Resolves with the first verdict that authentically answers `request` (the durable event),
   * chained onto `after`: the request, or the pending verdict when waiting for the final one.
   */
  answerTo(request: Request, after?: Verdict): Promise<Verdict>;
}

export interface VerdictFeed {
  /** Registers interest before the request is written, so no verdict can slip past; the caller owns the deadline. */
  expect(requestId: string): VerdictWait;
  cancel(requestId: string): void;
  readonly ready: boolean;
  pending(): number;
}

interface Waiter {
  request: Request | undefined;
  /** The pending verdict a final verdict must chain onto; undefined for the first verdict. */
  after: Verdict | undefined;
  /** When the request became durable (performance.now()). */
  durableAt: number;
  /** Verdicts that arrived before the request was durable; checked once it is. */
  early: Verdict[];
  resolve: (v: Verdict) => void;
  reject: (e: Error) => void;
}

/** Verdicts seen per rejection reason, for /metrics. */
export type RejectionCounts = Readonly<Record<VerdictRejection, number>>;

/** Pending-verdict bookkeeping, free of Kafka so it can be tested alone. */
export class VerdictWaiters {
  private readonly waiters = new Map<string, Waiter>();
  private readonly rejections: Record<VerdictRejection, number> = {
    'not-a-verdict': 0,
    hash: 0,
    session: 0,
    request: 0,
    chain: 0,
    'request-time': 0,
    producer: 0,
    shadow: 0,
  };

  /** From the request's acknowledgement to its verdict in hand: processor fetch, decision, verdict produce and fetch. */
  readonly waitSeconds = new LatencyHistogram(
    'agentgate_verdict_wait_seconds',
    'From a request event acknowledged by Kafka to its authentic verdict delivered to the session.',
    'stage',
  );

  constructor(
    private readonly trustedProducers: ReadonlySet<string>,
    private readonly onRejected: (rejection: VerdictRejection, verdict: Verdict) => void = () => {},
  ) {}

  expect(requestId: string): VerdictWait {
    let waiter!: Waiter;
    const answer = new Promise<Verdict>((resolve, reject) => {
      waiter = { request: undefined, after: undefined, durableAt: 0, early: [], resolve, reject };
    });
    this.waiters.set(requestId, waiter);
    return {
      answerTo: (request, after) => {
        waiter.request = request;
        waiter.after = after;
        waiter.durableAt = performance.now();
        const early = waiter.early.splice(0);
        for (const verdict of early) if (this.offer(requestId, waiter, verdict)) break;
        return answer;
      },
    };
  }

  /** Offers a verdict read from the topic; true when it answered a waiting request. */
  deliver(verdict: Verdict): boolean {
    const waiter = this.waiters.get(verdict.payload.requestId);
    if (!waiter) return false;
    if (!waiter.request) {
      // Bounded: a legitimate request has one verdict; a flood of forgeries stops at 16.
      if (waiter.early.length < 16) waiter.early.push(verdict);
      return false;
    }
    return this.offer(verdict.payload.requestId, waiter, verdict);
  }

  private offer(requestId: string, waiter: Waiter, verdict: Verdict): boolean {
    const check = checkVerdict(verdict, waiter.request as Request, this.trustedProducers, waiter.after ?? (waiter.request as Request));
    if (!check.ok) {
      this.rejections[check.rejection]++;
      this.onRejected(check.rejection, verdict);
      return false;
    }
    this.waiters.delete(requestId);
    if (!waiter.after) this.waitSeconds.observe('verdict', (performance.now() - waiter.durableAt) / 1000);
    waiter.resolve(verdict);
    return true;
  }

  cancel(requestId: string): void {
    this.waiters.delete(requestId);
  }

  waitingFor(requestId: string): boolean {
    return this.waiters.has(requestId);
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

  get rejected(): RejectionCounts {
    return { ...this.rejections };
  }
}

export interface KafkaVerdictFeed extends VerdictFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Prometheus lines: verdicts rejected by reason. */
  metrics(): string;
}

export function kafkaVerdictFeed(options: {
  kafka: Kafka;
  serde: EventSerde;
  topic: string;
  groupId: string;
  trustedProducers: ReadonlySet<string>;
  logger: Logger;
  fetchMaxWaitMs: number;
  /** This instance, as it stamps the requests it writes (REPLY_TO_HEADER). */
  instance: string;
}): KafkaVerdictFeed {
  const waiters = new VerdictWaiters(options.trustedProducers, (rejection, verdict) =>
    options.logger.warn(
      {
        code: 'AG_ERR_VERDICT_REJECTED',
        rejection,
        sessionId: verdict.sessionId,
        requestId: verdict.payload.requestId,
        producer: verdict.producer,
      },
      'verdict rejected: it does not authentically answer the request',
    ),
  );
  const skipped: Record<Exclude<VerdictRoute, 'decode'>, number> = { 'other-instance': 0, 'not-waiting': 0 };
  let decoded = 0;
  const consumer = broadcastConsumer({
    kafka: options.kafka,
    topic: options.topic,
    groupId: options.groupId,
    logger: options.logger,
    partitionsConsumedConcurrently: 6,
    maxWaitTimeInMs: options.fetchMaxWaitMs,
    async onMessage(value, offset, headers) {
      if (waiters.size === 0) return;
      // Verdicts for other instances' sessions are skipped unread (see routing-headers.ts).
      const route = routeVerdict(headers, options.instance, (id) => waiters.waitingFor(id));
      if (route !== 'decode') {
        skipped[route]++;
        return;
      }
      decoded++;
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
    metrics() {
      const lines = [
        '# HELP agentgate_verdicts_rejected_total Verdicts read that did not authentically answer a waiting request, by reason.',
        '# TYPE agentgate_verdicts_rejected_total counter',
      ];
      for (const [reason, n] of Object.entries(waiters.rejected)) lines.push(`agentgate_verdicts_rejected_total{reason="${reason}"} ${n}`);
      lines.push(
        '# HELP agentgate_verdicts_skipped_total Verdict records not decoded: routed by header to another instance, or for no request waiting here.',
        '# TYPE agentgate_verdicts_skipped_total counter',
      );
      for (const [route, n] of Object.entries(skipped)) lines.push(`agentgate_verdicts_skipped_total{route="${route}"} ${n}`);
      lines.push('# TYPE agentgate_verdicts_decoded_total counter', `agentgate_verdicts_decoded_total ${decoded}`);
      return `${lines.join('\n')}\n${waiters.waitSeconds.render()}`;
    },
    async stop() {
      waiters.failAll(new GatewayError('AG_ERR_SHUTTING_DOWN'));
      await consumer.stop();
    },
  };
}
