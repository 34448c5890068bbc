// What one exchange writes to the audit log, as a port: the exchange (exchange.ts) sees four
// operations, main.ts gives it the Kafka pipeline (a SessionAudit chain and decideRequest, as
// the other ingresses use), a test gives it a fake decider.
import type { Actor, RequestObserved, ResponseObserved, SessionClosed, SessionOpened, VerdictIssued } from '@agentgate/events';
import { type AuditSink, decideRequest, SessionAudit, type VerdictFeed } from '@agentgate/ingress-core';

/** One exchange's audit session. Every operation rejects with a GatewayError when it cannot be made durable. */
export interface ExchangeAudit {
  open(payload: SessionOpened): Promise<void>;
  /** Records the request and resolves with the verdict that settles it (AG_ERR_AUDIT_UNAVAILABLE, AG_ERR_VERDICT_TIMEOUT otherwise). */
  decide(payload: RequestObserved): Promise<VerdictIssued>;
  respond(payload: ResponseObserved): Promise<void>;
  close(payload: SessionClosed): Promise<void>;
}

/** Starts the audit session `sessionId` of one exchange by `actor`. */
export type StartExchangeAudit = (sessionId: string, actor: Actor) => ExchangeAudit;

export interface PipelineAuditOptions {
  sink: AuditSink;
  topic: string;
  verdicts: VerdictFeed;
  /** This instance, the events' producer. */
  producer: string;
  newId: () => string;
  nowUs: () => number;
  auditWriteTimeoutMs: number;
  verdictTimeoutMs: number;
  approvalWaitMs: number;
}

/** The audit of the real pipeline: a hash-chained session on the ingress topic, verdicts from the processor. */
export function pipelineAudit(options: PipelineAuditOptions): StartExchangeAudit {
  const timeout = options.auditWriteTimeoutMs;
  return (sessionId, actor) => {
    const audit = new SessionAudit({
      sink: options.sink,
      topic: options.topic,
      sessionId,
      producer: options.producer,
      actor,
      newEventId: options.newId,
      nowUs: options.nowUs,
    });
    return {
      open: async (payload) => {
        await audit.record('SessionOpened', payload, timeout);
      },
      decide: async (payload) => {
        const decided = await decideRequest(
          audit,
          {
            verdicts: options.verdicts,
            auditWriteTimeoutMs: timeout,
            verdictTimeoutMs: options.verdictTimeoutMs,
            approvalWaitMs: options.approvalWaitMs,
          },
          payload,
        );
        return decided.verdict.payload;
      },
      respond: async (payload) => {
        await audit.record('ResponseObserved', payload, timeout);
      },
      close: async (payload) => {
        await audit.record('SessionClosed', payload, timeout);
      },
    };
  };
}
