// Who may do what, and what the audit log records about them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VerifiedIdentity } from '@agentgate/identity';
import { actorOf, adminGroupsOf, requireAdmin } from './caller.js';
import { killRequest } from './kill.js';

const erin: VerifiedIdentity = {
  subject: 'erin',
  issuer: 'http://127.0.0.1:14000',
  groups: ['gateway-admins', 'staff'],
  actChain: [],
  actor: null,
  tokenId: 'jti-1',
  expiresAt: new Date(2_000_000_000_000),
  issuedAt: null,
  audience: ['agentgate'],
  clientId: 'erin',
};
const agent: VerifiedIdentity = { ...erin, subject: 'demo-agent', groups: ['agents'], clientId: 'demo-agent' };

test('given an admin group, when checked, then allowed; without one, AG_ERR_POLICY_DENIED naming the group', () => {
  assert.doesNotThrow(() => requireAdmin(erin, ['gateway-admins'], 'kill'));
  assert.deepEqual(adminGroupsOf(erin, ['ops', 'gateway-admins']), ['gateway-admins']);
  assert.throws(
    () => requireAdmin(agent, ['gateway-admins'], 'kill'),
    (e: { code?: string; message: string }) =>
      e.code === 'AG_ERR_POLICY_DENIED' && /demo-agent is not in the group gateway-admins \(its groups: agents\)/.test(e.message),
  );
  assert.throws(() => requireAdmin({ subject: 'x', groups: [] }, ['a', 'b'], 'kill'), /not in any of the groups a, b \(its groups: none\)/);
  // A group name is matched exactly, never as a prefix or substring.
  assert.throws(() => requireAdmin({ subject: 'x', groups: ['gateway-admins-readonly', 'gateway'] }, ['gateway-admins'], 'kill'));
});

test('the kill request records the verified identity: subject, issuer, groups, chain, token id, auth method', () => {
  const delegated: VerifiedIdentity = {
    ...erin,
    actChain: [
      { subject: 'erin', issuer: null, clientId: null },
      { subject: 'ops-bot', issuer: null, clientId: 'ops-bot' },
    ],
    actor: 'ops-bot',
  };
  const event = killRequest(delegated, '00000000-0000-4000-8000-000000000001', 'runaway', {
    eventId: '00000000-0000-4000-8000-000000000002',
    sessionId: '00000000-0000-4000-8000-000000000003',
    timeUs: 1,
    producer: 'cli/test/1',
  });
  assert.equal(event.eventType, 'SessionKillRequested');
  assert.deepEqual(event.actor, {
    subject: 'erin',
    issuer: 'http://127.0.0.1:14000',
    groups: ['gateway-admins', 'staff'],
    actChain: [
      { subject: 'erin', issuer: null, clientId: null },
      { subject: 'ops-bot', issuer: null, clientId: 'ops-bot' },
    ],
    tokenId: 'jti-1',
    authMethod: 'oidc-access-token',
  });
  assert.deepEqual(event.payload, { targetSessionId: '00000000-0000-4000-8000-000000000001', reason: 'runaway', requestedBy: 'erin' });
  assert.deepEqual(actorOf(erin).actChain, []);
});
