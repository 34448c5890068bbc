// Events and identities the unit tests build approvals from (no Kafka: events are chained here
// as the policy processor, the ingress and this service chain them).
import {
  GENESIS,
  chainEvent,
  type Actor,
  type ApprovalRequested,
  type AuditEvent,
  type DelegationLink,
  type UnchainedEvent,
} from '@agentgate/events';
import { applyEvents, EMPTY_STATE, type ApprovalState } from './approval-state.js';
import { chainOnto } from './chain.js';

export const ISSUER = 'https://idp.example';
export const T0 = 1_795_000_000_000_000;
export const APPROVAL_ID = 'a0000000-0000-4000-8000-000000000001';

export function person(subject: string, groups: string[] = [], actChain: DelegationLink[] = []): Actor {
  return { subject, issuer: ISSUER, groups, actChain, tokenId: null, authMethod: 'oidc-access-token' };
}

export const link = (subject: string, issuer: string | null = null): DelegationLink => ({ subject, issuer, clientId: null });

/** The agent demo-agent acting for alice, as the brief's example records it. */
export const AGENT_FOR_ALICE = person('demo-agent', ['agents'], [link('alice')]);

export function requestPayload(overrides: Partial<ApprovalRequested> = {}): ApprovalRequested {
  return {
    approvalId: APPROVAL_ID,
    requestId: 'r0000000-0000-4000-8000-000000000001',
    requestSessionId: 's0000000-0000-4000-8000-000000000001',
    requestHash: 'aa'.repeat(32),
    pendingVerdictHash: 'bb'.repeat(32),
    protocol: 'postgres',
    connection: 'orders-prod',
    text: 'DELETE FROM orders WHERE id = $1',
    parameters: ['***'],
    statementKinds: ['DELETE'],
    statementDigest: 'cc'.repeat(32),
    policyVersion: 'v7',
    ruleId: 'deletes-need-approval',
    reason: 'DELETE on orders needs an approval',
    approverGroups: ['approvers', 'dba-*'],
    quorum: 1,
    quorumGroups: [],
    expiresAtUs: T0 + 600_000_000,
    grantScope: 'statement',
    grantSec: 300,
    notify: ['ops'],
    ...overrides,
  };
}

/** The ApprovalRequested at seq 0 of the approval's chain, as the policy processor writes it. */
export function requested(overrides: Partial<ApprovalRequested> = {}, requester: Actor | null = AGENT_FOR_ALICE): AuditEvent {
  const payload = requestPayload(overrides);
  const event: UnchainedEvent<'ApprovalRequested'> = {
    eventId: `${payload.approvalId}-req`,
    sessionId: payload.approvalId,
    timeUs: T0,
    producer: 'policy-processor',
    traceId: null,
    actor: requester,
    eventType: 'ApprovalRequested',
    payload,
  };
  return chainEvent(event, GENESIS) as AuditEvent;
}

/** A one-event chain of its own (GrantUsed, BlastRadiusEstimated). */
export function standalone(event: Omit<UnchainedEvent, 'producer' | 'traceId' | 'actor'>): AuditEvent {
  return chainEvent({ producer: 'ingress-postgres', traceId: null, actor: null, ...event } as UnchainedEvent, GENESIS) as AuditEvent;
}

export const given = (...events: AuditEvent[]): ApprovalState => applyEvents(EMPTY_STATE, events);

/** Chains and folds decided events, as the shell does once Kafka acknowledged them. */
export function written(state: ApprovalState, events: readonly UnchainedEvent[]): { state: ApprovalState; events: AuditEvent[] } {
  const chained = chainOnto(state, events);
  return { state: applyEvents(state, chained), events: chained };
}
