// The approvals as the log tells them: rebuilt by folding the events of the approvals and
// approval-decisions topics, in whatever order the two topics interleave. A decision or an
// estimate read before its request is kept and shows once the request arrives. Pure: the same
// events give the same state, and an event applied twice (a replay, our own write read back)
// changes nothing.
import type {
  Actor,
  ApprovalDecided,
  ApprovalRequested,
  ApprovalResolved,
  AuditEvent,
  AuditEventOf,
  BlastRadiusEstimated,
} from '@agentgate/events';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** The last event of an approval's own chain: where the next one attaches. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export interface DecisionRecord {
  readonly eventId: string;
  /** The approver as the event's actor records it. */
  readonly approver: Actor;
  readonly decision: ApprovalDecided['decision'];
  readonly comment: string | null;
  readonly timeUs: number;
}

export interface ResolutionRecord extends ApprovalResolved {
  readonly timeUs: number;
}

export interface BlastRadiusRecord extends BlastRadiusEstimated {
  readonly timeUs: number;
}

export interface Approval {
  readonly approvalId: string;
  /** Null until the ApprovalRequested is read (its decisions may come first). */
  readonly request: ApprovalRequested | null;
  /** The requester: the ApprovalRequested's actor. */
  readonly requester: Actor | null;
  readonly requestedAtUs: number | null;
  /** The highest-seq event of the approval's chain read so far. */
  readonly head: ChainHead | null;
  readonly decisions: readonly DecisionRecord[];
  readonly status: ApprovalStatus;
  /** The first resolution in chain order; a later one (which a single writer never makes) is ignored. */
  readonly resolution: ResolutionRecord | null;
  readonly blastRadius: BlastRadiusRecord | null;
  /** GrantUsed events that took a use, and those that gave one back. */
  readonly grantUses: number;
  readonly grantReleases: number;
  /** Every event id folded into this approval: what makes a replay harmless. */
  readonly eventIds: ReadonlySet<string>;
}

export interface ApprovalState {
  readonly approvals: ReadonlyMap<string, Approval>;
}

export const EMPTY_STATE: ApprovalState = Object.freeze({ approvals: new Map<string, Approval>() });

const APPROVAL_EVENT_TYPES = new Set(['ApprovalRequested', 'ApprovalDecided', 'ApprovalResolved', 'GrantUsed', 'BlastRadiusEstimated']);

/** Whether the event is one the approval state folds (the rest of the audit log is ignored). */
export function isApprovalEvent(event: AuditEvent): boolean {
  return APPROVAL_EVENT_TYPES.has(event.eventType);
}

function blank(approvalId: string): Approval {
  return {
    approvalId,
    request: null,
    requester: null,
    requestedAtUs: null,
    head: null,
    decisions: [],
    status: 'pending',
    resolution: null,
    blastRadius: null,
    grantUses: 0,
    grantReleases: 0,
    eventIds: new Set(),
  };
}

/** The approval an event belongs to, or undefined for events of other types. */
function approvalIdOf(event: AuditEvent): string | undefined {
  switch (event.eventType) {
    case 'ApprovalRequested':
    case 'ApprovalDecided':
    case 'ApprovalResolved':
    case 'GrantUsed':
    case 'BlastRadiusEstimated':
      return event.payload.approvalId;
    default:
      return undefined;
  }
}

/** Moves the head forward when the event belongs to the approval's own chain. */
function advance(head: ChainHead | null, event: AuditEvent, approvalId: string): ChainHead | null {
  // BlastRadiusEstimated and GrantUsed are one-event chains of their own, not links of this one.
  if (event.sessionId !== approvalId) return head;
  if (head !== null && head.seq >= event.seq) return head;
  return { seq: event.seq, hash: event.hash };
}

function evolveApproval(approval: Approval, event: AuditEvent): Approval {
  const eventIds = new Set(approval.eventIds).add(event.eventId);
  const head = advance(approval.head, event, approval.approvalId);
  switch (event.eventType) {
    case 'ApprovalRequested':
      return { ...approval, eventIds, head, request: event.payload, requester: event.actor, requestedAtUs: event.timeUs };
    case 'ApprovalDecided': {
      if (event.actor === null) return { ...approval, eventIds, head };
      const record: DecisionRecord = {
        eventId: event.eventId,
        approver: event.actor,
        decision: event.payload.decision,
        comment: event.payload.comment,
        timeUs: event.timeUs,
      };
      return { ...approval, eventIds, head, decisions: [...approval.decisions, record] };
    }
    case 'ApprovalResolved': {
      if (approval.resolution !== null) return { ...approval, eventIds, head };
      const resolution: ResolutionRecord = { ...event.payload, timeUs: event.timeUs };
      return { ...approval, eventIds, head, resolution, status: resolution.outcome };
    }
    case 'GrantUsed':
      return event.payload.released
        ? { ...approval, eventIds, grantReleases: approval.grantReleases + 1 }
        : { ...approval, eventIds, grantUses: approval.grantUses + 1 };
    case 'BlastRadiusEstimated':
      // The latest estimate is the one shown (an ingress may estimate again).
      return { ...approval, eventIds, blastRadius: { ...event.payload, timeUs: event.timeUs } };
    case 'SessionOpened':
    case 'RequestObserved':
    case 'VerdictIssued':
    case 'ResponseObserved':
    case 'SessionClosed':
    case 'SessionKillRequested':
    case 'CheckpointSigned':
    case 'LegalHoldChanged':
    case 'RetentionApplied':
    case 'TerminalRecorded':
      return approval;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** Folds events into the state, in order. Returns the same state when none of them is new. */
export function applyEvents(state: ApprovalState, events: readonly AuditEvent[]): ApprovalState {
  // One copy of the map per call, not per event: a replay at start applies whole batches.
  let approvals: Map<string, Approval> | undefined;
  for (const event of events) {
    const approvalId = approvalIdOf(event);
    if (approvalId === undefined) continue;
    const current = (approvals ?? state.approvals).get(approvalId) ?? blank(approvalId);
    if (current.eventIds.has(event.eventId)) continue;
    approvals ??= new Map(state.approvals);
    approvals.set(approvalId, evolveApproval(current, event));
  }
  return approvals === undefined ? state : { approvals };
}

/** Folds one event into the state. */
export function applyEvent(state: ApprovalState, event: AuditEvent): ApprovalState {
  return applyEvents(state, [event]);
}

/** Whether the state already holds the event. */
export function hasEvent(state: ApprovalState, event: AuditEvent): boolean {
  const approvalId = approvalIdOf(event);
  return approvalId !== undefined && (state.approvals.get(approvalId)?.eventIds.has(event.eventId) ?? false);
}

/** An approval whose ApprovalRequested has been read. */
export type RequestedApproval = Approval & { readonly request: ApprovalRequested; readonly requestedAtUs: number };

/** An approval whose request has been read; undefined otherwise (decisions alone are no approval). */
export function requestedApproval(state: ApprovalState, approvalId: string): RequestedApproval | undefined {
  const approval = state.approvals.get(approvalId);
  if (approval === undefined || approval.request === null || approval.requestedAtUs === null) return undefined;
  return approval as RequestedApproval;
}

/** Every approval whose request has been read. */
export function requestedApprovals(state: ApprovalState): RequestedApproval[] {
  const out: RequestedApproval[] = [];
  for (const id of state.approvals.keys()) {
    const approval = requestedApproval(state, id);
    if (approval !== undefined) out.push(approval);
  }
  return out;
}

/** The ApprovalRequested events of a batch that the state does not hold yet. */
export function newRequests(state: ApprovalState, events: readonly AuditEvent[]): AuditEventOf<'ApprovalRequested'>[] {
  return events.filter((e): e is AuditEventOf<'ApprovalRequested'> => e.eventType === 'ApprovalRequested' && !hasEvent(state, e));
}
