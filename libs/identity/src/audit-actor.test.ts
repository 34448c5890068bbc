import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditActor } from './audit-actor.js';

test('the audit actor copies who acted and the delegation chain, never more', () => {
  const identity = {
    subject: 'dave',
    issuer: 'https://idp',
    groups: ['agents'],
    actChain: [{ subject: 'demo-agent', issuer: null, clientId: 'demo-agent' }],
    tokenId: 'jti-1',
    rawToken: 'secret',
  };
  const actor = auditActor(identity);
  assert.deepEqual(actor, {
    subject: 'dave',
    issuer: 'https://idp',
    groups: ['agents'],
    actChain: [{ subject: 'demo-agent', issuer: null, clientId: 'demo-agent' }],
    tokenId: 'jti-1',
    authMethod: 'oidc-access-token',
  });
  assert.notEqual(actor.groups, identity.groups, "a copy, not the verifier's array");
});
