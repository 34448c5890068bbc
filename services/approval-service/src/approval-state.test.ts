import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleSession } from '@agentgate/events';
import { applyEvent, applyEvents, EMPTY_STATE, newRequests, requestedApproval } from './approval-state.js';
import { decide } from './decide.js';
import { APPROVAL_ID, T0, given, person, requested, standalone, written } from './test-fixtures.js';

const bob = person('bob', ['approvers']);
const carol = person('carol', ['approvers']);

function history() {
  const request = requested({ quorum: 2 });
  const first = written(
    given(request),
    decide({ kind: 'approve', approvalId: APPROVAL_ID, approver: bob, comment: 'ok', nowUs: T0 + 10, eventId: 'd1' }, given(request))
      .events,
  );
  const second = written(
    first.state,
    decide({ kind: 'approve', approvalId: APPROVAL_ID, approver: carol, comment: null, nowUs: T0 + 20, eventId: 'd2' }, first.state).events,
  );
  const blast = standalone({
    eventId: 'blast-1',
    sessionId: 'blast-session',
    timeUs: T0 + 5,
    eventType: 'BlastRadiusEstimated',
    payload: { approvalId: APPROVAL_ID, requestId: 'r1', estimatedRows: 1200, planSummary: 'Delete on public.orders', error: null },
  });
  const use = (eventId: string, released: boolean) =>
    standalone({
      eventId,
      sessionId: `use-${eventId}`,
      timeUs: T0 + 30,
      eventType: 'GrantUsed',
      payload: { approvalId: APPROVAL_ID, requestId: 'r1', requestSessionId: 's1', verdictHash: 'ff', released },
    });
  return { request, decisions: [...first.events, ...second.events], blast, uses: [use('u1', false), use('u2', false), use('u3', true)] };
}

test('rebuilds an approval from its events: request, requester, decisions, resolution, blast radius, grant uses', () => {
  const h = history();
  const state = applyEvents(EMPTY_STATE, [h.request, h.blast, ...h.decisions, ...h.uses]);
  const a = requestedApproval(state, APPROVAL_ID)!;
  assert.equal(a.request.ruleId, 'deletes-need-approval');
  assert.equal(a.requester?.subject, 'demo-agent');
  assert.deepEqual(
    a.requester?.actChain.map((l) => l.subject),
    ['alice'],
  );
  assert.equal(a.requestedAtUs, T0);
  assert.deepEqual(
    a.decisions.map((d) => [d.approver.subject, d.decision, d.comment, d.timeUs]),
    [
      ['bob', 'approve', 'ok', T0 + 10],
      ['carol', 'approve', null, T0 + 20],
    ],
  );
  assert.equal(a.status, 'approved');
  assert.deepEqual(a.resolution?.decidedBy, ['bob', 'carol']);
  assert.equal(a.blastRadius?.estimatedRows, 1200);
  assert.equal(a.grantUses, 2);
  assert.equal(a.grantReleases, 1);
});

test('the chain head is the last event of the approval chain; one-event chains (blast radius, grant uses) do not move it', () => {
  const h = history();
  const last = h.decisions.at(-1)!;
  const state = applyEvents(EMPTY_STATE, [h.request, ...h.decisions, h.blast, ...h.uses]);
  assert.deepEqual(state.approvals.get(APPROVAL_ID)!.head, { seq: last.seq, hash: last.hash });
  assert.equal(last.seq, 3);
  assert.deepEqual(applyEvents(EMPTY_STATE, [h.request, h.blast]).approvals.get(APPROVAL_ID)!.head, { seq: 0, hash: h.request.hash });
});

test('the two topics may interleave: decisions and estimates read before the request give the same state', () => {
  const h = history();
  const inOrder = applyEvents(EMPTY_STATE, [h.request, h.blast, ...h.decisions, ...h.uses]);
  const reordered = applyEvents(EMPTY_STATE, [...h.decisions, h.blast, ...h.uses, h.request]);
  assert.deepEqual(reordered.approvals.get(APPROVAL_ID), inOrder.approvals.get(APPROVAL_ID));
  // Before the request arrives there is no approval to show or decide.
  assert.equal(requestedApproval(applyEvents(EMPTY_STATE, h.decisions), APPROVAL_ID), undefined);
});

test('idempotent: an event applied twice changes nothing (the state object is returned as is)', () => {
  const h = history();
  const once = applyEvents(EMPTY_STATE, [h.request, h.blast, ...h.decisions, ...h.uses]);
  const twice = applyEvents(once, [h.request, h.blast, ...h.decisions, ...h.uses]);
  assert.equal(twice, once);
  assert.equal(applyEvent(once, h.uses[0]!), once);
  // Within one batch as well.
  const doubled = applyEvents(EMPTY_STATE, [h.request, ...h.uses, ...h.uses]);
  assert.equal(doubled.approvals.get(APPROVAL_ID)!.grantUses, 2);
});

test('a second resolution (never written by a single writer) does not change the outcome', () => {
  const h = history();
  const state = applyEvents(EMPTY_STATE, [h.request, ...h.decisions]);
  const resolvedAgain = { ...h.decisions.at(-1)!, eventId: 'other', seq: 9 };
  const after = applyEvent(state, {
    ...resolvedAgain,
    payload: { ...(resolvedAgain.payload as object), outcome: 'denied' },
  } as typeof resolvedAgain);
  assert.equal(after.approvals.get(APPROVAL_ID)!.status, 'approved');
});

test('events of other types are ignored', () => {
  assert.equal(applyEvents(EMPTY_STATE, sampleSession()), EMPTY_STATE);
});

test('newRequests: the requests of a batch that the state does not hold yet', () => {
  const h = history();
  const other = requested({ approvalId: 'a2' });
  const state = given(h.request);
  assert.deepEqual(
    newRequests(state, [h.request, other, h.blast]).map((e) => e.payload.approvalId),
    ['a2'],
  );
});
