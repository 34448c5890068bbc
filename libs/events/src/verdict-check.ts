// Whether a verdict read from the verdict topic really answers a request the ingress wrote.
// The broker's ACLs already restrict who may write verdicts; this is the second lock: a
// verdict counts only if it is intact (its hash recomputes), belongs to the request's
// session, names the request, chains directly onto the request's hash, carries the
// request's time and comes from a producer the ingress trusts. A shadow verdict (a policy
// under trial) is never obeyed, however authentic: it is recorded, not enforced.
import { canonicalEventText, sha256Hex } from './hash-chain.js';
import type { AuditEvent, AuditEventOf } from './types.js';

export type VerdictRejection = 'not-a-verdict' | 'hash' | 'session' | 'request' | 'chain' | 'request-time' | 'producer' | 'shadow';

export type VerdictCheck = { ok: true } | { ok: false; rejection: VerdictRejection };

/**
 * Checks `candidate` against the durable `request` it claims to answer. `after` is what it must
 * chain onto: the request itself, or for the final verdict of a request sent for approval, the
 * pending verdict the ingress adopted (and then a pending decision is not final).
 */
export function checkVerdict(
  candidate: AuditEvent,
  request: AuditEventOf<'RequestObserved'>,
  trustedProducers: ReadonlySet<string>,
  after: Pick<AuditEvent, 'seq' | 'hash'> = request,
): VerdictCheck {
  const reject = (rejection: VerdictRejection): VerdictCheck => ({ ok: false, rejection });
  if (candidate.eventType !== 'VerdictIssued') return reject('not-a-verdict');
  if (sha256Hex(canonicalEventText(candidate)) !== candidate.hash) return reject('hash');
  if (candidate.sessionId !== request.sessionId) return reject('session');
  if (candidate.payload.requestId !== request.payload.requestId) return reject('request');
  if (candidate.seq !== after.seq + 1 || candidate.prevHash !== after.hash) return reject('chain');
  if (after !== request && candidate.payload.decision === 'pending_approval') return reject('chain');
  if (candidate.payload.requestTimeUs !== request.timeUs) return reject('request-time');
  if (!trustedProducers.has(candidate.producer)) return reject('producer');
  if (candidate.payload.shadow) return reject('shadow');
  return { ok: true };
}
