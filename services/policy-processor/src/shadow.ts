// A shadow verdict: what a policy under trial would have decided. It answers the request like
// a live verdict (same session, chained onto the request, so it is verifiable on its own) but
// is marked shadow, has an id of its own and travels on the shadow-verdicts topic: the ingress
// never reads it, and checkVerdict would refuse it if it did. Chain verification skips shadow
// rows, so the verdict slot after the request keeps exactly one occupant.
import { chainEvent, derivedEventId, nextLink, type AuditEventOf } from '@agentgate/events';

/** The shadow form of `verdict`, a verdict of `request`. Pure and deterministic, as the live one. */
export function asShadowVerdict(
  verdict: AuditEventOf<'VerdictIssued'>,
  request: AuditEventOf<'RequestObserved'>,
): AuditEventOf<'VerdictIssued'> {
  const { seq: _seq, prevHash: _prevHash, hash: _hash, ...unchained } = verdict;
  return chainEvent<'VerdictIssued'>(
    {
      ...unchained,
      eventId: derivedEventId(request.eventId, 'shadow-verdict'),
      payload: { ...verdict.payload, shadow: true },
    },
    nextLink(request),
  );
}
