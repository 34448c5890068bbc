// Turns a planned checkpoint into the CheckpointSigned event of the checkpointer's own chain.
// Pure: the signing key, the event id and the clock come in.
import type { KeyObject } from 'node:crypto';
import { signCheckpoint } from '@agentgate/audit-verify';
import { chainEvent, type AuditEventOf } from '@agentgate/events';
import type { CheckpointPlan } from './heads.js';

export interface CheckpointEnvelope {
  eventId: string;
  /** checkpointChainId(checkpointerId). */
  chainId: string;
  /** The service name. */
  producer: string;
  timeUs: number;
}

/** The signed, chained event: seq and prevHash from the plan, so it links onto the previous checkpoint. */
export function checkpointEvent(
  plan: CheckpointPlan,
  signingKey: KeyObject,
  envelope: CheckpointEnvelope,
): AuditEventOf<'CheckpointSigned'> {
  return chainEvent(
    {
      eventId: envelope.eventId,
      sessionId: envelope.chainId,
      timeUs: envelope.timeUs,
      producer: envelope.producer,
      traceId: null,
      // Signed by a service on a timer, on nobody's behalf.
      actor: null,
      eventType: 'CheckpointSigned',
      payload: signCheckpoint(plan.body, signingKey),
    },
    plan.link,
  );
}
