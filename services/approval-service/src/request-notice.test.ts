import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEventOf } from '@agentgate/events';
import { actingAgents } from './parties.js';
import { requestNotice } from './request-notice.js';
import { ISSUER, link, person, requested } from './test-fixtures.js';

test('agents acting for a principal, as libs/identity records a chain (principal first): current agent first, principal left out', () => {
  const viaPlanner = person('alice', ['staff'], [link('alice', ISSUER), link('planner'), link('dba-agent')]);
  assert.deepEqual(actingAgents(viaPlanner), ['dba-agent', 'planner']);
  assert.deepEqual(actingAgents(person('alice')), []);
});

test('the notice of a request: who, what, where to decide, until when', () => {
  const requester = person('alice', ['staff'], [link('alice', ISSUER), link('demo-agent')]);
  const event = requested({}, requester) as AuditEventOf<'ApprovalRequested'>;
  assert.deepEqual(requestNotice(event, 'https://approvals.example/'), {
    approvalId: event.payload.approvalId,
    url: `https://approvals.example/v1/approvals/${event.payload.approvalId}`,
    requester: 'alice',
    actChain: ['demo-agent'],
    connection: 'orders-prod',
    text: 'DELETE FROM orders WHERE id = $1',
    ruleId: 'deletes-need-approval',
    reason: 'DELETE on orders needs an approval',
    expiresAtUs: event.payload.expiresAtUs,
    approverGroups: ['approvers', 'dba-*'],
  });
});
