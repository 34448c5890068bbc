// Legal hold and retention records as audit events. Each is a one-event chain of its own
// (seq 0, no predecessor): the audit API keeps no state between requests, and a chain per
// record needs none, while the checkpointer still signs each one's head. Pure: ids, clock and
// the auditor come in.
import { GENESIS, chainEvent, type Actor, type AuditEventOf, type RetentionApplied } from '@agentgate/events';

/** Envelope sessionId prefixes of governance records (one chain per record). */
export const HOLD_CHAIN_PREFIX = 'governance/hold/';
export const RETENTION_CHAIN_PREFIX = 'governance/retention/';

export interface GovernanceEnvelope {
  eventId: string;
  timeUs: number;
  /** The service name (audit-api). */
  producer: string;
  /** The auditor who asked; requestedBy is their subject. */
  actor: Actor;
}

export function holdEvent(
  envelope: GovernanceEnvelope,
  hold: { heldSessionId: string; action: 'add' | 'remove'; reason: string },
): AuditEventOf<'LegalHoldChanged'> {
  return chainEvent(
    {
      eventId: envelope.eventId,
      sessionId: `${HOLD_CHAIN_PREFIX}${envelope.eventId}`,
      timeUs: envelope.timeUs,
      producer: envelope.producer,
      traceId: null,
      actor: envelope.actor,
      eventType: 'LegalHoldChanged',
      payload: { ...hold, requestedBy: envelope.actor.subject },
    },
    GENESIS,
  );
}

export function retentionEvent(
  envelope: GovernanceEnvelope,
  record: Omit<RetentionApplied, 'requestedBy'>,
): AuditEventOf<'RetentionApplied'> {
  return chainEvent(
    {
      eventId: envelope.eventId,
      sessionId: `${RETENTION_CHAIN_PREFIX}${envelope.eventId}`,
      timeUs: envelope.timeUs,
      producer: envelope.producer,
      traceId: null,
      actor: envelope.actor,
      eventType: 'RetentionApplied',
      payload: { ...record, requestedBy: envelope.actor.subject },
    },
    GENESIS,
  );
}
