// Test doubles of the ingress core for unit tests of ingresses (exported as
// @agentgate/ingress-core/testing; never imported by services' own code).
import { type Actor, type AuditEventOf, chainEvent, nextLink, type UnchainedEvent } from '@agentgate/events';
import type { VerdictFeed } from '../verdict-feed.js';

/**
 * A verdict feed that answers every request with an allow verdict chained after it, as the
 * policy processor would; `onExpect` sees each request id the ingress waits on.
 */
export function allowingVerdictFeed(actor: Actor, onExpect: (requestId: string) => void = () => {}): VerdictFeed {
  return {
    expect(requestId) {
      onExpect(requestId);
      return {
        answerTo: async (req: AuditEventOf<'RequestObserved'>) =>
          chainEvent<'VerdictIssued'>(
            {
              eventId: `v-${requestId}`,
              eventType: 'VerdictIssued',
              sessionId: req.sessionId,
              timeUs: req.timeUs + 1,
              producer: 'policy',
              traceId: null,
              actor,
              payload: {
                requestId,
                decision: 'allow',
                policyVersion: 'p@1',
                ruleId: null,
                reason: 'ok',
                errorCode: null,
                maskingPlan: [],
                approvalId: null,
                statementDigest: null,
                shadow: false,
                requestTimeUs: req.timeUs,
                visibleTools: [],
              },
            } as UnchainedEvent<'VerdictIssued'>,
            nextLink(req),
          ),
      };
    },
    cancel: () => {},
    ready: true,
    pending: () => 0,
  };
}
