// Approvals in the processor, pure: what a request the policy sends for approval gets (a grant
// to run under, the pending approval it joins, a refusal, or a new approval request), and the
// final verdict of a request that waits when its approval is resolved. Every event is derived
// from the request and the log, never from this instance or its clock, so deciding again after
// a restart writes the same bytes.
import {
  type AuditEventOf,
  type ApprovalRequested,
  chainEvent,
  derivedEventId,
  GENESIS,
  nextLink,
  type UnchainedEvent,
  type VerdictIssued,
} from '@agentgate/events';
import type { ApprovalSpec } from '@agentgate/policy';
import { type ApprovalBook, type BookEntry, identityKey, statementKey, windowKey } from './approval-book.js';

type Request = AuditEventOf<'RequestObserved'>;
type Verdict = AuditEventOf<'VerdictIssued'>;

export interface ApprovalDecision {
  /** Replaces the policy's pending verdict: allow under a grant, deny, or pending with its approval id. */
  verdict: Verdict;
  /** For the approvals topic: the new approval request, or the grant's use. */
  events: (AuditEventOf<'ApprovalRequested'> | AuditEventOf<'GrantUsed'>)[];
  /** The approval the request now waits on (pending), for the final verdict. */
  waitsOn: string | null;
}

/** The policy's verdict with other payload fields, chained again onto the same request. */
function reissue(request: Request, policyVerdict: Verdict, fields: Partial<VerdictIssued>): Verdict {
  const { seq: _seq, prevHash: _prev, hash: _hash, ...unchained } = policyVerdict;
  return chainEvent<'VerdictIssued'>(
    { ...unchained, payload: { ...policyVerdict.payload, ...fields } } as UnchainedEvent<'VerdictIssued'>,
    nextLink(request),
  );
}

function digestOf(request: Request): string | null {
  const d = request.payload.detail;
  return d.kind === 'sql' ? d.statementDigest : null;
}

/** A grant `entry` gives `request` at its time, if any (a use by this very request counts as free). */
function grantFor(entry: BookEntry, requestId: string, nowUs: number): boolean {
  if (entry.status !== 'approved' || entry.grantExpiresAtUs === null || entry.grantExpiresAtUs <= nowUs) return false;
  if (entry.grantScope === 'window') return true;
  return entry.uses.size === 0 || (entry.uses.size === 1 && entry.uses.has(requestId));
}

export function grantUsedEvent(
  request: Request,
  approvalId: string,
  verdict: Verdict,
  released: boolean,
  timeUs: number,
): AuditEventOf<'GrantUsed'> {
  // Its own one-event chain: only the processor writes it, linked to the verdict by id and hash.
  return chainEvent<'GrantUsed'>(
    {
      eventId: derivedEventId(request.eventId, released ? `grant-release:${approvalId}` : `grant-use:${approvalId}`),
      eventType: 'GrantUsed',
      sessionId: derivedEventId(request.eventId, released ? `grant-release-chain:${approvalId}` : `grant-use-chain:${approvalId}`),
      timeUs,
      producer: verdict.producer,
      traceId: request.traceId,
      actor: request.actor,
      payload: {
        approvalId,
        requestId: request.payload.requestId,
        requestSessionId: request.sessionId,
        verdictHash: verdict.hash,
        released,
      },
    },
    GENESIS,
  );
}

/**
 * What a request gets when the policy says it needs approval (`policyVerdict` is pending, from
 * the rule `spec` belongs to), given what the book knows at the request's time.
 */
export function decideApproval(request: Request, policyVerdict: Verdict, spec: ApprovalSpec, book: ApprovalBook): ApprovalDecision {
  const nowUs = request.timeUs;
  const digest = digestOf(request);
  const identity = identityKey(request.actor);
  const connection = request.payload.connection;
  const ruleId = policyVerdict.payload.ruleId ?? '';
  const key =
    spec.scope === 'window'
      ? windowKey(identity, connection, ruleId)
      : digest === null
        ? undefined
        : statementKey(identity, connection, digest);
  const filed = key === undefined ? [] : book.under(key);
  const ownApprovalId = derivedEventId(request.eventId, 'approval');

  if (!book.get(ownApprovalId)) {
    // A grant to run under.
    const granted = filed.find((e) => grantFor(e, request.payload.requestId, nowUs));
    if (granted) {
      const verdict = reissue(request, policyVerdict, {
        decision: 'allow',
        errorCode: null,
        approvalId: granted.approvalId,
        statementDigest: digest,
        reason: `approved (approval ${granted.approvalId}, ${granted.grantScope === 'window' ? 'within its window' : 'this statement once'})`,
      });
      return { verdict, events: [grantUsedEvent(request, granted.approvalId, verdict, false, nowUs)], waitsOn: null };
    }
    // An approval of the same statement still open: wait on it too, rather than ask twice.
    const open = filed.find((e) => e.status === 'pending' && e.expiresAtUs > nowUs);
    if (open) {
      const verdict = reissue(request, policyVerdict, { approvalId: open.approvalId, statementDigest: digest });
      return { verdict, events: [], waitsOn: open.approvalId };
    }
    // Recently denied or expired: refused for the rule's expiry, not asked again at once.
    const latest = filed[0];
    if (
      latest &&
      (latest.status === 'denied' || latest.status === 'expired') &&
      latest.resolvedAtUs !== null &&
      nowUs < latest.resolvedAtUs + latest.refuseForUs
    ) {
      const verdict = reissue(request, policyVerdict, {
        decision: 'deny',
        errorCode: latest.status === 'denied' ? 'AG_ERR_APPROVAL_DENIED' : 'AG_ERR_APPROVAL_EXPIRED',
        approvalId: latest.approvalId,
        statementDigest: digest,
        maskingPlan: [],
        reason: `approval ${latest.approvalId} of this statement was ${latest.status}`,
      });
      return { verdict, events: [], waitsOn: null };
    }
  }
  // A new approval request (or, deciding again, the same one).
  const verdict = reissue(request, policyVerdict, { approvalId: ownApprovalId, statementDigest: digest });
  return { verdict, events: [approvalRequestedEvent(request, verdict, spec, ownApprovalId, digest)], waitsOn: ownApprovalId };
}

/** The request as an approver reads it: SQL, a command line, a method and path, an MCP call. */
function approvalText(d: Request['payload']['detail']): string {
  switch (d.kind) {
    case 'sql':
      return d.text;
    case 'ssh':
      return d.command ?? d.subsystem ?? d.channel;
    case 'http':
      return `${d.method} ${d.path}`;
    case 'mcp':
      return `${d.method} ${d.name ?? d.uri ?? ''}${d.arguments === null ? '' : ` ${d.arguments}`}`;
    default: {
      const never: never = d;
      return String(never);
    }
  }
}

function approvalRequestedEvent(
  request: Request,
  pending: Verdict,
  spec: ApprovalSpec,
  approvalId: string,
  digest: string | null,
): AuditEventOf<'ApprovalRequested'> {
  const d = request.payload.detail;
  const text = approvalText(d);
  const payload: ApprovalRequested = {
    approvalId,
    requestId: request.payload.requestId,
    requestSessionId: request.sessionId,
    requestHash: request.hash,
    pendingVerdictHash: pending.hash,
    protocol: request.payload.protocol,
    connection: request.payload.connection,
    text,
    parameters: d.kind === 'sql' ? d.parameters : [],
    statementKinds: d.kind === 'sql' ? d.statementKinds : [],
    statementDigest: digest ?? '',
    policyVersion: pending.payload.policyVersion,
    ruleId: pending.payload.ruleId ?? '',
    reason: pending.payload.reason,
    approverGroups: [...spec.groups],
    quorum: spec.quorum,
    quorumGroups: [...spec.quorumGroups],
    expiresAtUs: request.timeUs + spec.expirySec * 1_000_000,
    grantScope: spec.scope,
    grantSec: spec.grantSec,
    notify: [...spec.notify],
  };
  // The approval's own chain starts here (sessionId = approval id); the approval service continues it.
  return chainEvent<'ApprovalRequested'>(
    {
      eventId: derivedEventId(request.eventId, 'approval-requested'),
      eventType: 'ApprovalRequested',
      sessionId: approvalId,
      timeUs: request.timeUs,
      producer: pending.producer,
      traceId: request.traceId,
      actor: request.actor,
      payload,
    },
    GENESIS,
  );
}

/** A request that waits for its approval, as its deciding processor left it. */
export interface Waiter {
  request: Request;
  pending: Verdict;
  /** The ingress instance that waits (routing header), when the request named one. */
  replyTo: string | undefined;
}

/**
 * The final verdict of a waiting request once its approval is resolved, chained onto its pending
 * verdict: allow (with the grant's use) when approved and the grant is free for it, deny when
 * denied or expired. Null when an approved statement grant was already used by another request.
 */
export function finalVerdict(
  waiter: Waiter,
  resolution: AuditEventOf<'ApprovalResolved'>,
  book: ApprovalBook,
): { verdict: Verdict; events: AuditEventOf<'GrantUsed'>[] } | null {
  const { request, pending } = waiter;
  const { approvalId, outcome } = resolution.payload;
  const base = {
    eventId: derivedEventId(request.eventId, 'final-verdict'),
    eventType: 'VerdictIssued' as const,
    sessionId: request.sessionId,
    timeUs: resolution.timeUs,
    producer: pending.producer,
    traceId: request.traceId,
    actor: request.actor,
  };
  if (outcome === 'approved') {
    const entry = book.get(approvalId);
    if (!entry || !grantFor(entry, request.payload.requestId, resolution.timeUs)) return null;
    const verdict = chainEvent<'VerdictIssued'>(
      {
        ...base,
        payload: {
          ...pending.payload,
          decision: 'allow',
          errorCode: null,
          reason: `approved by ${resolution.payload.decidedBy.join(', ')} (approval ${approvalId})`,
        },
      },
      nextLink(pending),
    );
    return { verdict, events: [grantUsedEvent(request, approvalId, verdict, false, resolution.timeUs)] };
  }
  const verdict = chainEvent<'VerdictIssued'>(
    {
      ...base,
      payload: {
        ...pending.payload,
        decision: 'deny',
        errorCode: outcome === 'denied' ? 'AG_ERR_APPROVAL_DENIED' : 'AG_ERR_APPROVAL_EXPIRED',
        maskingPlan: [],
        reason:
          outcome === 'denied'
            ? `denied by ${resolution.payload.decidedBy.join(', ') || 'an approver'} (approval ${approvalId})`
            : `approval ${approvalId} expired undecided`,
      },
    },
    nextLink(pending),
  );
  return { verdict, events: [] };
}
