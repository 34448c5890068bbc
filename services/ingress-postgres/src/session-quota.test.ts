import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGatewayError } from '@agentgate/errors';
import { actingAgent, createSessionQuota } from './session-quota.js';

const LIMIT = 3;

function refusedWithLimit(fn: () => unknown, mentions: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isGatewayError(e));
    assert.equal(e.code, 'AG_ERR_SESSION_LIMIT');
    assert.match(e.message, mentions);
    return true;
  });
}

test('given an agent acting for many principals, when it reaches its own limit, then it is refused as the acting agent', () => {
  const quota = createSessionQuota({ maxSessions: 100, maxSessionsPerIdentity: LIMIT });
  for (const principal of ['alice', 'bob', 'carol']) quota.admit({ subject: principal, actor: 'demo-agent' });
  assert.equal(quota.asActor('demo-agent'), LIMIT);
  // Every principal has one session in its name, far below the limit: the actor is what is full.
  refusedWithLimit(() => quota.admit({ subject: 'dave', actor: 'demo-agent' }), /acting agent demo-agent/);
  refusedWithLimit(() => quota.admit({ subject: 'demo-agent', actor: 'demo-agent' }), /acting agent demo-agent/);
  // Nothing was counted for the refusals.
  assert.equal(quota.admitted, LIMIT);
  assert.equal(quota.asSubject('dave'), 0);
  assert.equal(quota.asSubject('demo-agent'), 0);
  // Other agents are not affected.
  quota.admit({ subject: 'dave', actor: 'report-agent' });
});

test("given sessions held in a subject's name by several actors, when they reach the limit, then the subject is full", () => {
  const quota = createSessionQuota({ maxSessions: 100, maxSessionsPerIdentity: LIMIT });
  quota.admit({ subject: 'dba-agent', actor: 'demo-agent' });
  quota.admit({ subject: 'dba-agent', actor: 'planner' });
  // The real agent itself still gets in: its own session counts in both roles, once each.
  const own = quota.admit({ subject: 'dba-agent', actor: 'dba-agent' });
  assert.equal(quota.asSubject('dba-agent'), 3);
  assert.equal(quota.asActor('dba-agent'), 1);
  refusedWithLimit(() => quota.admit({ subject: 'dba-agent', actor: 'report-agent' }), /subject dba-agent/);
  assert.equal(quota.asActor('report-agent'), 0);
  own();
  quota.admit({ subject: 'dba-agent', actor: 'report-agent' });
});

test('given a full identity, when one of its sessions is released, then exactly one more is admitted', () => {
  const quota = createSessionQuota({ maxSessions: 100, maxSessionsPerIdentity: LIMIT });
  const releases = [1, 2, 3].map(() => quota.admit({ subject: 'alice', actor: 'demo-agent' }));
  refusedWithLimit(() => quota.admit({ subject: 'alice', actor: 'demo-agent' }), /demo-agent/);
  const first = releases[0];
  assert.ok(first);
  first();
  first(); // idempotent: a second call releases nothing more
  assert.equal(quota.asActor('demo-agent'), 2);
  assert.equal(quota.asSubject('alice'), 2);
  quota.admit({ subject: 'alice', actor: 'demo-agent' });
  refusedWithLimit(() => quota.admit({ subject: 'alice', actor: 'demo-agent' }), /demo-agent/);
  for (const release of releases) release();
  assert.equal(quota.admitted, 1);
});

test('given the gateway at its total, when anyone asks, then it is refused and nothing leaks', () => {
  const quota = createSessionQuota({ maxSessions: 2, maxSessionsPerIdentity: LIMIT });
  const a = quota.admit({ subject: 'alice', actor: 'demo-agent' });
  quota.admit({ subject: 'bob', actor: 'report-agent' });
  refusedWithLimit(() => quota.admit({ subject: 'carol', actor: 'planner' }), /maximum of 2/);
  assert.equal(quota.asActor('planner'), 0);
  assert.equal(quota.asSubject('carol'), 0);
  a();
  assert.equal(quota.asActor('demo-agent'), 0);
  assert.equal(quota.asSubject('alice'), 0);
  quota.admit({ subject: 'carol', actor: 'planner' });
  assert.equal(quota.admitted, 2);
});

test('the acting agent is the outermost actor, or the subject without delegation', () => {
  assert.equal(actingAgent({ subject: 'demo-agent', actChain: [] }), 'demo-agent');
  assert.equal(actingAgent({ subject: 'dave', actChain: [{ subject: 'dave' }, { subject: 'demo-agent' }] }), 'demo-agent');
  assert.equal(
    actingAgent({ subject: 'alice', actChain: [{ subject: 'alice' }, { subject: 'planner' }, { subject: 'dba-agent' }] }),
    'dba-agent',
  );
});
