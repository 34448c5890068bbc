// The policy decider: decide(command, state) -> events. Pure: the ids and the SQL
// classification come in with the command; no I/O, no Date.now(), no randomness.
// Deterministic: a verdict is a function of its request and the policy alone. Its time is
// the request's time and its producer the service, never the deciding instance or its
// clock, so a request re-decided after a restart, by any instance, yields the same bytes
// (same canonical text, same hash) as the verdict it replaces.
import { chainEvent, derivedEventId, nextLink, type AuditEvent, type AuditEventOf, type Decision } from '@agentgate/events';

/** What the policy sees of a request. */
export interface ClassifiedRequest {
  request: AuditEventOf<'RequestObserved'>;
  classification: { statementKind: string; statementKinds: readonly string[] };
}

export interface PolicyRule {
  id: string;
  description: string;
  decision: Decision;
  matches(request: ClassifiedRequest): boolean;
}

export interface PolicyState {
  version: string;
  /** Evaluated in order; the first match decides. */
  rules: readonly PolicyRule[];
  defaultDecision: 'allow' | 'deny';
}

export interface DecideRequest {
  type: 'DecideRequest';
  subject: ClassifiedRequest;
}

/** The `producer` of every verdict: the service that decides, not an instance of it (see above). */
export const VERDICT_PRODUCER = 'policy-processor';

export type PolicyCommand = DecideRequest;

/** Decides a command against the policy; returns the events to append (one verdict per request). */
export function decide(command: PolicyCommand, state: PolicyState): AuditEvent[] {
  switch (command.type) {
    case 'DecideRequest':
      return [decideRequest(command, state)];
    default: {
      const unknown: never = command.type;
      throw new Error(`unknown command ${String(unknown)}`);
    }
  }
}

function decideRequest(command: DecideRequest, state: PolicyState): AuditEventOf<'VerdictIssued'> {
  const { request } = command.subject;
  const rule = state.rules.find((r) => r.matches(command.subject));
  const decision: Decision = rule?.decision ?? state.defaultDecision;
  const reason = rule ? `${rule.id}: ${rule.description}` : `no rule matched; policy default is ${state.defaultDecision}`;
  return chainEvent(
    {
      eventId: derivedEventId(request.eventId, 'verdict'),
      eventType: 'VerdictIssued',
      sessionId: request.sessionId,
      // The request's time, not the processor's clock: re-deciding must not change it.
      timeUs: request.timeUs,
      producer: VERDICT_PRODUCER,
      traceId: request.traceId,
      actor: request.actor,
      payload: {
        requestId: request.payload.requestId,
        decision,
        policyVersion: state.version,
        ruleId: rule?.id ?? null,
        reason,
        errorCode: decision === 'deny' ? 'AG_ERR_POLICY_DENIED' : null,
        maskingPlan: [],
        approvalId: null,
        statementDigest: null,
        shadow: false,
        requestTimeUs: request.timeUs,
      },
    },
    nextLink(request),
  );
}
