// The approval decider: a command and the current state in, the events to write out. No clock,
// no ids of its own, no I/O: time and the decision's event id come in with the command, and the
// shell chains, writes and folds the events (state follows what Kafka acknowledged).
import { derivedEventId, type Actor, type ApprovalRequested, type UnchainedEvent } from '@agentgate/events';
import type { ErrorCode } from '@agentgate/errors';
import { requestedApproval, type ApprovalState, type RequestedApproval } from './approval-state.js';
import { memberOf, memberOfAny } from './glob.js';
import { partiesMeet } from './parties.js';

/** The producer name every event of this service carries. */
export const PRODUCER = 'approval-service';

export interface DecisionCommand {
  kind: 'approve' | 'deny';
  approvalId: string;
  approver: Actor;
  comment: string | null;
  nowUs: number;
  /** The id of the ApprovalDecided this command writes. */
  eventId: string;
}

export interface ExpireCommand {
  kind: 'expire';
  nowUs: number;
  /** Only this approval; every pending approval when absent. */
  approvalId?: string;
}

export type Command = DecisionCommand | ExpireCommand;

/**
 * Events to write, in order. A refusal may carry events too: a decision on an approval that is
 * past its time is refused and expires it in the same step.
 */
export type DecideResult = { ok: true; events: UnchainedEvent[] } | { ok: false; code: ErrorCode; events: UnchainedEvent[] };

const refuse = (code: ErrorCode, events: UnchainedEvent[] = []): DecideResult => ({ ok: false, code, events });

export function decide(command: Command, state: ApprovalState): DecideResult {
  switch (command.kind) {
    case 'expire':
      return { ok: true, events: expire(command, state) };
    case 'approve':
    case 'deny':
      return decideOne(command, state);
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

function expire(command: ExpireCommand, state: ApprovalState): UnchainedEvent[] {
  const ids = command.approvalId === undefined ? [...state.approvals.keys()] : [command.approvalId];
  const events: UnchainedEvent[] = [];
  for (const id of ids) {
    const approval = requestedApproval(state, id);
    if (approval?.status === 'pending' && approval.request.expiresAtUs <= command.nowUs) events.push(expired(approval, command.nowUs));
  }
  return events;
}

function decideOne(command: DecisionCommand, state: ApprovalState): DecideResult {
  const approval = requestedApproval(state, command.approvalId);
  if (approval === undefined) return refuse('AG_ERR_APPROVAL_NOT_FOUND');
  if (approval.status !== 'pending') return refuse('AG_ERR_APPROVAL_CLOSED');
  const { request } = approval;
  // Who may decide is checked before the time: a caller who may not decide changes nothing,
  // not even an expiry (the expiry timer writes that within a second anyway).
  // Self first: the requester, and anyone in its delegation chain, is told why, approver or not.
  // A request without a recorded requester cannot be shown not to be the approver's own.
  if (approval.requester === null || partiesMeet(command.approver, approval.requester)) return refuse('AG_ERR_APPROVAL_SELF');
  if (!memberOfAny(command.approver.groups, request.approverGroups)) return refuse('AG_ERR_APPROVAL_FORBIDDEN');
  if (request.expiresAtUs <= command.nowUs) return refuse('AG_ERR_APPROVAL_EXPIRED', [expired(approval, command.nowUs)]);
  if (approval.decisions.some((d) => d.approver.subject === command.approver.subject)) return refuse('AG_ERR_APPROVAL_DUPLICATE');

  const decided: UnchainedEvent<'ApprovalDecided'> = {
    eventId: command.eventId,
    sessionId: approval.approvalId,
    timeUs: command.nowUs,
    producer: PRODUCER,
    traceId: null,
    actor: command.approver,
    eventType: 'ApprovalDecided',
    payload: { approvalId: approval.approvalId, decision: command.kind, comment: command.comment },
  };
  if (command.kind === 'deny') {
    // One deny ends the request, whatever approvals came before it.
    return { ok: true, events: [decided, resolved(approval, command.nowUs, 'denied', [command.approver.subject])] };
  }
  const approvers = [...approval.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver), command.approver];
  if (!quorumMet(request, approvers)) return { ok: true, events: [decided] };
  const decidedBy = [...new Set(approvers.map((a) => a.subject))];
  return { ok: true, events: [decided, resolved(approval, command.nowUs, 'approved', decidedBy)] };
}

/**
 * Quorum: `quorum` distinct approving subjects and, when quorumGroups is not empty, one approver
 * for each of those groups, no approver standing for two groups (a bipartite matching that
 * saturates the groups).
 */
export function quorumMet(
  request: Pick<ApprovalRequested, 'quorum' | 'quorumGroups'>,
  approvers: readonly Pick<Actor, 'subject' | 'groups'>[],
): boolean {
  const bySubject = new Map<string, string[]>();
  for (const a of approvers) bySubject.set(a.subject, [...(bySubject.get(a.subject) ?? []), ...a.groups]);
  if (bySubject.size < Math.max(1, request.quorum)) return false;
  const groups = [...new Set(request.quorumGroups)];
  if (groups.length === 0) return true;
  const people = [...bySubject.values()];
  if (people.length < groups.length) return false;
  // Kuhn's augmenting paths: group i is matched to person matchOf[p] === i.
  const matchOf: (number | undefined)[] = new Array(people.length).fill(undefined);
  const tryGroup = (g: number, visited: boolean[]): boolean => {
    for (let p = 0; p < people.length; p++) {
      if (visited[p] || !memberOf(people[p]!, groups[g]!)) continue;
      visited[p] = true;
      const holder = matchOf[p];
      if (holder === undefined || tryGroup(holder, visited)) {
        matchOf[p] = g;
        return true;
      }
    }
    return false;
  };
  return groups.every((_, g) => tryGroup(g, new Array<boolean>(people.length).fill(false)));
}

function expired(approval: RequestedApproval, nowUs: number): UnchainedEvent<'ApprovalResolved'> {
  return resolved(approval, nowUs, 'expired', []);
}

function resolved(
  approval: RequestedApproval,
  nowUs: number,
  outcome: 'approved' | 'denied' | 'expired',
  decidedBy: string[],
): UnchainedEvent<'ApprovalResolved'> {
  const grant = outcome === 'approved';
  return {
    // Derived from the approval: however often a resolution is attempted, it has one id.
    eventId: derivedEventId(approval.approvalId, 'resolved'),
    sessionId: approval.approvalId,
    timeUs: nowUs,
    producer: PRODUCER,
    traceId: null,
    actor: null,
    eventType: 'ApprovalResolved',
    payload: {
      approvalId: approval.approvalId,
      outcome,
      decidedBy,
      grantScope: grant ? approval.request.grantScope : null,
      grantExpiresAtUs: grant ? nowUs + approval.request.grantSec * 1_000_000 : null,
    },
  };
}
