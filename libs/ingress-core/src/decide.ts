// One request's way through the pipeline, for an ingress that records requests of its own kind:
// the request becomes durable, then its authentic verdict arrives, both inside the session's
// chain turn so the verdict follows its request directly. One budget covers both; a pending
// approval is then waited for up to the approval wait. Nothing here touches the target.
import { isGatewayError } from '@agentgate/errors';
import type { AuditEventOf, RequestObserved } from '@agentgate/events';
import { withDeadline } from '@agentgate/kafka';
import type { ChainEntry, ChainWriter, SessionAudit } from './audit-log.js';
import type { VerdictFeed } from './verdict-feed.js';

type Verdict = AuditEventOf<'VerdictIssued'>;

export interface DecideOptions {
  verdicts: VerdictFeed;
  auditWriteTimeoutMs: number;
  verdictTimeoutMs: number;
  /** How long a request sent for approval is held for its final verdict; 0 = not at all. */
  approvalWaitMs: number;
  /** Told once a request waits for approval (the agent may be shown where to approve it). */
  onPendingApproval?: (pending: Verdict, request: AuditEventOf<'RequestObserved'>) => void;
}

export interface Decided {
  request: AuditEventOf<'RequestObserved'>;
  /** The verdict that settles the request: allow, deny, or the pending one when no decision came in time. */
  verdict: Verdict;
}

/**
 * Records `payload` (its requestId is the event id) and returns its authentic verdict; rejects
 * with a GatewayError. `preceding` events (a one-request session's SessionOpened) are chained
 * before the request and made durable in the same write, so they cost no acknowledgement of
 * their own; none of them is durable unless all are.
 */
export function decideRequest(
  audit: SessionAudit,
  options: DecideOptions,
  payload: RequestObserved,
  preceding: readonly ChainEntry[] = [],
): Promise<Decided> {
  return audit.exclusive((writer) => decideInTurn(writer, options, payload, preceding));
}

/** As decideRequest, for a caller that already holds the chain's turn (several requests in one turn). */
export async function decideInTurn(
  writer: ChainWriter,
  options: DecideOptions,
  payload: RequestObserved,
  preceding: readonly ChainEntry[] = [],
): Promise<Decided> {
  const { requestId } = payload;
  const deadline = Date.now() + options.verdictTimeoutMs;
  const wait = options.verdicts.expect(requestId);
  try {
    const writeTimeoutMs = Math.min(options.auditWriteTimeoutMs, options.verdictTimeoutMs);
    const request =
      preceding.length === 0
        ? await writer.record('RequestObserved', payload, writeTimeoutMs, requestId)
        : ((await writer.recordAll([...preceding, { eventType: 'RequestObserved', payload, eventId: requestId }], writeTimeoutMs)).at(
            -1,
          ) as AuditEventOf<'RequestObserved'>);
    let verdict: Verdict;
    try {
      verdict = await withDeadline(wait.answerTo(request), Math.max(deadline - Date.now(), 1), 'AG_ERR_VERDICT_TIMEOUT', 'verdict');
    } catch (err) {
      writer.abandonVerdict(request);
      throw err;
    }
    writer.adopt(verdict);
    if (verdict.payload.decision !== 'pending_approval' || verdict.payload.approvalId === null) return { request, verdict };
    options.verdicts.cancel(requestId);
    return { request, verdict: await awaitApproval(writer, options, request, verdict) };
  } finally {
    options.verdicts.cancel(requestId);
  }
}

async function awaitApproval(
  writer: ChainWriter,
  options: DecideOptions,
  request: AuditEventOf<'RequestObserved'>,
  pending: Verdict,
): Promise<Verdict> {
  const wait = options.verdicts.expect(request.payload.requestId);
  options.onPendingApproval?.(pending, request);
  try {
    const final = await withDeadline(
      wait.answerTo(request, pending),
      Math.max(options.approvalWaitMs, 1),
      'AG_ERR_APPROVAL_PENDING',
      'approval',
    );
    writer.adopt(final);
    return final;
  } catch (err) {
    if (!isGatewayError(err, 'AG_ERR_APPROVAL_PENDING')) throw err;
    writer.abandonVerdict(pending);
    return pending;
  } finally {
    options.verdicts.cancel(request.payload.requestId);
  }
}
