// Attaches decided events to their approvals' chains: each onto the head the state knows, or
// onto the event before it in the same batch (a decision and the resolution it brings about).
import { chainEvent, nextLink, type AuditEvent, type ChainLink, type UnchainedEvent } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import type { ApprovalState } from './approval-state.js';

/** The chained events, in the given order. Throws AG_ERR_INTERNAL for an approval with no known head. */
export function chainOnto(state: ApprovalState, events: readonly UnchainedEvent[]): AuditEvent[] {
  const links = new Map<string, ChainLink>();
  return events.map((event) => {
    let link = links.get(event.sessionId);
    if (link === undefined) {
      const head = state.approvals.get(event.sessionId)?.head;
      // The decider only writes onto approvals whose request it has read, so a head exists.
      if (head == null) throw new GatewayError('AG_ERR_INTERNAL', 'no chain head for the approval');
      link = nextLink(head);
    }
    const chained = chainEvent(event, link) as AuditEvent;
    links.set(event.sessionId, nextLink(chained));
    return chained;
  });
}
