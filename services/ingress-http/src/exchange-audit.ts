// What a session writes to the audit log, as a port: an HTTP exchange (exchange.ts) sees
// OneRequestAudit, an MCP session ExchangeAudit; main.ts gives them the Kafka pipeline (a
// SessionAudit chain and decideRequest, as the other ingresses use), a test gives a fake decider.
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

/**
 * The audit of a session of one request (an HTTP exchange). Each acknowledged write costs the
 * agent a broker round trip, so the session's opening travels with its request and its close
 * with its response: one produce request each, durable together or not at all. SessionOpened is
 * therefore durable before anything is forwarded, and the response before the answer completes.
 */
export interface OneRequestAudit {
  /** Records SessionOpened and the request in one write, then resolves with the request's verdict. */
  openAndDecide(opened: SessionOpened, request: RequestObserved): Promise<VerdictIssued>;
  /** Records the response and SessionClosed in one write. */
  respondAndClose(response: ResponseObserved, closed: SessionClosed): Promise<void>;
  /** Closes a session whose request got no response recorded (it was not decided). */
  close(closed: SessionClosed): Promise<void>;
}

export type StartOneRequestAudit = (sessionId: string, actor: Actor) => OneRequestAudit;

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
export function pipelineAudit(options: PipelineAuditOptions): (sessionId: string, actor: Actor) => ExchangeAudit & OneRequestAudit {
  const timeout = options.auditWriteTimeoutMs;
  const decideOptions = {
    verdicts: options.verdicts,
    auditWriteTimeoutMs: timeout,
    verdictTimeoutMs: options.verdictTimeoutMs,
    approvalWaitMs: options.approvalWaitMs,
  };
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
      decide: async (payload) => (await decideRequest(audit, decideOptions, payload)).verdict.payload,
      openAndDecide: async (opened, payload) =>
        (await decideRequest(audit, decideOptions, payload, [{ eventType: 'SessionOpened', payload: opened }])).verdict.payload,
      respondAndClose: async (response, closed) => {
        await audit.recordAll(
          [
            { eventType: 'ResponseObserved', payload: response },
            { eventType: 'SessionClosed', payload: closed },
          ],
          timeout,
        );
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
