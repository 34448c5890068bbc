import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivedEventId, verifyChain, type Actor, type AuditEvent, type UnchainedEvent } from '@agentgate/events';
import type { ApprovalState } from './approval-state.js';
import { decide, quorumMet, type DecideResult } from './decide.js';
import { AGENT_FOR_ALICE, APPROVAL_ID, ISSUER, T0, given, link, person, requested, written } from './test-fixtures.js';

const NOW = T0 + 60_000_000;
let ids = 0;

function when(state: ApprovalState, kind: 'approve' | 'deny', approver: Actor, comment: string | null = null, nowUs = NOW): DecideResult {
  return decide({ kind, approvalId: APPROVAL_ID, approver, comment, nowUs, eventId: `e-${++ids}` }, state);
}

/** Decides and folds the events in (the shell's commit), asserting the command was accepted. */
function step(
  state: ApprovalState,
  kind: 'approve' | 'deny',
  approver: Actor,
  nowUs = NOW,
): { state: ApprovalState; events: AuditEvent[] } {
  const result = when(state, kind, approver, null, nowUs);
  assert.equal(result.ok, true, result.ok ? '' : result.code);
  return written(state, result.events);
}

const types = (events: readonly UnchainedEvent[]): string[] => events.map((e) => e.eventType);
const codeOf = (r: DecideResult): string | undefined => (r.ok ? undefined : r.code);

const bob = person('bob', ['approvers']);
const carol = person('carol', ['approvers']);
const alice = person('alice', ['approvers']);

test('one approval from an approver meets a quorum of 1: decided, then resolved with a grant', () => {
  const result = when(given(requested()), 'approve', bob, 'looks right');
  assert.equal(result.ok, true);
  assert.deepEqual(types(result.events), ['ApprovalDecided', 'ApprovalResolved']);
  const [decided, resolved] = result.events as [UnchainedEvent<'ApprovalDecided'>, UnchainedEvent<'ApprovalResolved'>];
  assert.deepEqual(decided.actor, bob);
  assert.deepEqual(decided.payload, { approvalId: APPROVAL_ID, decision: 'approve', comment: 'looks right' });
  assert.equal(decided.sessionId, APPROVAL_ID);
  assert.equal(decided.producer, 'approval-service');
  assert.equal(resolved.actor, null);
  assert.equal(resolved.eventId, derivedEventId(APPROVAL_ID, 'resolved'));
  assert.deepEqual(resolved.payload, {
    approvalId: APPROVAL_ID,
    outcome: 'approved',
    decidedBy: ['bob'],
    grantScope: 'statement',
    grantExpiresAtUs: NOW + 300 * 1_000_000,
  });
});

test('the written events continue the approval chain from the request (seq 1, 2) and verify', () => {
  const request = requested();
  const { events } = step(given(request), 'approve', bob);
  assert.deepEqual(
    events.map((e) => [e.seq, e.prevHash]),
    [
      [1, request.hash],
      [2, events[0]!.hash],
    ],
  );
  assert.deepEqual(verifyChain([request, ...events]), { ok: true, length: 3 });
});

test('unknown approval: AG_ERR_APPROVAL_NOT_FOUND, nothing written', () => {
  const result = when(given(), 'approve', bob);
  assert.deepEqual(result, { ok: false, code: 'AG_ERR_APPROVAL_NOT_FOUND', events: [] });
});

test('decisions read before their request make no approval: still not found', () => {
  const { events } = step(given(requested({ quorum: 2 })), 'approve', person('dave', ['approvers']));
  assert.equal(codeOf(when(given(...events), 'approve', bob)), 'AG_ERR_APPROVAL_NOT_FOUND');
});

test('an approver outside approverGroups is refused with AG_ERR_APPROVAL_FORBIDDEN', () => {
  assert.equal(codeOf(when(given(requested()), 'approve', person('mallory', ['developers']))), 'AG_ERR_APPROVAL_FORBIDDEN');
  assert.equal(codeOf(when(given(requested()), 'deny', person('mallory', []))), 'AG_ERR_APPROVAL_FORBIDDEN');
});

test('approverGroups are globs: dba-* admits dba-oncall, ? stands for one character', () => {
  assert.equal(when(given(requested()), 'approve', person('erin', ['dba-oncall'])).ok, true);
  const state = given(requested({ approverGroups: ['team-?'] }));
  assert.equal(when(state, 'approve', person('erin', ['team-a'])).ok, true);
  assert.equal(codeOf(when(state, 'approve', person('erin', ['team-ab']))), 'AG_ERR_APPROVAL_FORBIDDEN');
});

test('self-approval: the requester itself is refused', () => {
  const requester = person('bob', ['approvers']);
  assert.equal(codeOf(when(given(requested({}, requester)), 'approve', bob)), 'AG_ERR_APPROVAL_SELF');
});

test('self-approval: a requester outside the approver groups is told it is its own request, not only that it may not approve', () => {
  const requester = person('demo-agent', ['agents']);
  assert.equal(codeOf(when(given(requested({}, requester)), 'approve', requester)), 'AG_ERR_APPROVAL_SELF');
  assert.equal(codeOf(when(given(requested({}, requester)), 'approve', person('dave', ['agents']))), 'AG_ERR_APPROVAL_FORBIDDEN');
});

test('self-approval: the human an agent acts for is refused (demo-agent for alice, alice approves)', () => {
  assert.equal(codeOf(when(given(requested({}, AGENT_FOR_ALICE)), 'approve', alice)), 'AG_ERR_APPROVAL_SELF');
  assert.equal(codeOf(when(given(requested({}, AGENT_FOR_ALICE)), 'deny', alice)), 'AG_ERR_APPROVAL_SELF');
});

test('self-approval: an intermediate agent of the requester chain is refused', () => {
  const requester = person('alice', ['staff'], [link('alice', ISSUER), link('planner-agent'), link('sql-agent')]);
  const planner = person('planner-agent', ['approvers']);
  assert.equal(codeOf(when(given(requested({}, requester)), 'approve', planner)), 'AG_ERR_APPROVAL_SELF');
});

test('self-approval: an approver acting through an agent chain that holds the requester is refused', () => {
  // bob's token, used by an agent that alice's own agent delegated to: alice would approve herself.
  const viaAlice = person('review-bot', ['approvers'], [link('alice')]);
  assert.equal(codeOf(when(given(requested({}, person('alice', ['staff']))), 'approve', viaAlice)), 'AG_ERR_APPROVAL_SELF');
  // An approver whose chain meets the requester's chain (both act for alice).
  assert.equal(codeOf(when(given(requested({}, AGENT_FOR_ALICE)), 'approve', viaAlice)), 'AG_ERR_APPROVAL_SELF');
});

test('self-approval compares issuers where both are known: the same name at another issuer is someone else', () => {
  const requester = { ...person('alice', ['staff']), issuer: 'https://other-idp.example' };
  assert.equal(when(given(requested({}, requester)), 'approve', alice).ok, true);
  // A chain link without an issuer cannot tell them apart: refused.
  const agent = { ...AGENT_FOR_ALICE, issuer: 'https://other-idp.example' };
  assert.equal(codeOf(when(given(requested({}, agent)), 'approve', alice)), 'AG_ERR_APPROVAL_SELF');
});

test('a request with no recorded requester cannot be shown not to be the approver own: refused', () => {
  assert.equal(codeOf(when(given(requested({}, null)), 'approve', bob)), 'AG_ERR_APPROVAL_SELF');
});

test('an approver who already decided is refused with AG_ERR_APPROVAL_DUPLICATE', () => {
  const state = step(given(requested({ quorum: 2 })), 'approve', bob).state;
  assert.equal(codeOf(when(state, 'approve', bob)), 'AG_ERR_APPROVAL_DUPLICATE');
  assert.equal(codeOf(when(state, 'deny', bob)), 'AG_ERR_APPROVAL_DUPLICATE');
});

test('quorum 2 needs two distinct approvers', () => {
  const first = step(given(requested({ quorum: 2 })), 'approve', bob);
  assert.deepEqual(types(first.events), ['ApprovalDecided']);
  assert.equal(first.state.approvals.get(APPROVAL_ID)!.status, 'pending');
  const second = step(first.state, 'approve', carol);
  assert.deepEqual(types(second.events), ['ApprovalDecided', 'ApprovalResolved']);
  const resolved = second.events[1] as AuditEvent & { eventType: 'ApprovalResolved' };
  assert.deepEqual(resolved.payload.decidedBy, ['bob', 'carol']);
  assert.equal(second.state.approvals.get(APPROVAL_ID)!.status, 'approved');
  assert.deepEqual(
    second.events.map((e) => e.seq),
    [2, 3],
  );
});

test('each-group quorum: one approver from each of quorumGroups, one approver covering one group only', () => {
  const request = requested({ quorum: 1, quorumGroups: ['dba', 'security'], approverGroups: ['dba', 'security'] });
  const both = person('dora', ['dba', 'security']);
  const first = step(given(request), 'approve', both);
  // dora is in both groups, but stands for one: another approver is needed.
  assert.deepEqual(types(first.events), ['ApprovalDecided']);
  const anotherDba = step(first.state, 'approve', person('dan', ['dba']));
  // dora covers security, dan covers dba: the matching finds it.
  assert.deepEqual(types(anotherDba.events), ['ApprovalDecided', 'ApprovalResolved']);
});

test('each-group quorum: two approvers of the same group do not cover a second group', () => {
  const request = requested({ quorum: 2, quorumGroups: ['dba', 'security'], approverGroups: ['dba', 'security'] });
  const first = step(given(request), 'approve', person('dan', ['dba']));
  const second = step(first.state, 'approve', person('dina', ['dba']));
  assert.deepEqual(types(second.events), ['ApprovalDecided']);
  const third = step(second.state, 'approve', person('sam', ['security']));
  assert.deepEqual(types(third.events), ['ApprovalDecided', 'ApprovalResolved']);
});

test('quorumMet: matching needs augmenting paths, and quorum counts distinct subjects', () => {
  const req = { quorum: 2, quorumGroups: ['a', 'b'] };
  // Greedy would give x to a and leave b uncovered; x must move to b for y to take a.
  assert.equal(quorumMet(req, [person('x', ['a', 'b']), person('y', ['a'])]), true);
  assert.equal(quorumMet(req, [person('x', ['a']), person('y', ['a'])]), false);
  assert.equal(quorumMet({ quorum: 2, quorumGroups: [] }, [person('x'), person('x')]), false);
  assert.equal(quorumMet({ quorum: 3, quorumGroups: ['a'] }, [person('x', ['a']), person('y')]), false);
});

test('deny ends the request: decided, then resolved denied', () => {
  const result = when(given(requested()), 'deny', bob, 'not on a Friday');
  assert.equal(result.ok, true);
  assert.deepEqual(types(result.events), ['ApprovalDecided', 'ApprovalResolved']);
  const resolved = result.events[1] as UnchainedEvent<'ApprovalResolved'>;
  assert.deepEqual(resolved.payload, {
    approvalId: APPROVAL_ID,
    outcome: 'denied',
    decidedBy: ['bob'],
    grantScope: null,
    grantExpiresAtUs: null,
  });
});

test('a deny after an approval (quorum 2) ends the request', () => {
  const first = step(given(requested({ quorum: 2 })), 'approve', bob);
  const denied = step(first.state, 'deny', carol);
  assert.deepEqual(types(denied.events), ['ApprovalDecided', 'ApprovalResolved']);
  assert.equal(denied.state.approvals.get(APPROVAL_ID)!.status, 'denied');
  assert.equal(codeOf(when(denied.state, 'approve', person('dave', ['approvers']))), 'AG_ERR_APPROVAL_CLOSED');
});

test('a decided approval is closed: AG_ERR_APPROVAL_CLOSED', () => {
  const state = step(given(requested()), 'approve', bob).state;
  assert.equal(codeOf(when(state, 'approve', carol)), 'AG_ERR_APPROVAL_CLOSED');
  assert.equal(codeOf(when(state, 'deny', carol)), 'AG_ERR_APPROVAL_CLOSED');
});

test('a decision past expiresAtUs is refused with AG_ERR_APPROVAL_EXPIRED and expires the request', () => {
  const state = given(requested({ expiresAtUs: T0 + 1000 }));
  const result = when(state, 'approve', bob, null, T0 + 1000);
  assert.equal(codeOf(result), 'AG_ERR_APPROVAL_EXPIRED');
  assert.deepEqual(types(result.events), ['ApprovalResolved']);
  const resolved = result.events[0] as UnchainedEvent<'ApprovalResolved'>;
  assert.equal(resolved.payload.outcome, 'expired');
  const after = written(state, result.events).state;
  assert.equal(after.approvals.get(APPROVAL_ID)!.status, 'expired');
  assert.equal(codeOf(when(after, 'approve', bob, null, T0 + 2000)), 'AG_ERR_APPROVAL_CLOSED');
});

test('expire: every pending approval at or past its time, and nothing else', () => {
  const due = requested({ approvalId: 'due', expiresAtUs: NOW });
  const later = requested({ approvalId: 'later', expiresAtUs: NOW + 1 });
  const done = requested({ approvalId: 'done', expiresAtUs: NOW - 5 });
  let state = given(due, later, done);
  state = written(
    state,
    decide({ kind: 'deny', approvalId: 'done', approver: bob, comment: null, nowUs: NOW - 10, eventId: 'd1' }, state).events,
  ).state;
  const result = decide({ kind: 'expire', nowUs: NOW }, state);
  assert.equal(result.ok, true);
  assert.deepEqual(
    result.events.map((e) => [e.sessionId, e.eventType, (e as UnchainedEvent<'ApprovalResolved'>).payload.outcome]),
    [['due', 'ApprovalResolved', 'expired']],
  );
  assert.deepEqual(decide({ kind: 'expire', nowUs: NOW, approvalId: 'later' }, state).events, []);
  // Applied, the expiry is not repeated.
  const after = written(state, result.events).state;
  assert.deepEqual(
    decide({ kind: 'expire', nowUs: NOW + 10 }, after).events.map((e) => e.sessionId),
    ['later'],
  );
});
