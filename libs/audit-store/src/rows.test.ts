import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEventText, sampleSession, type Actor, type AuditEvent } from '@agentgate/events';
import { eventRow } from './rows.js';

const position = { topic: 'agentgate.ingress.v1', partition: 0, offset: '7' };

function rowWith(actor: Actor | null): Record<string, unknown> {
  const [opened] = sampleSession();
  assert.ok(opened);
  const event: AuditEvent = { ...opened, actor };
  return eventRow({ event, canonicalText: canonicalEventText(event) }, position, 0);
}

const token: Omit<Actor, 'subject' | 'actChain'> = {
  issuer: 'http://127.0.0.1:14000',
  groups: ['dba-agents'],
  tokenId: 'jti-1',
  authMethod: 'oidc-access-token',
};

test('given a direct token, the subject is also the acting agent', () => {
  const row = rowWith({ ...token, subject: 'dba-agent', actChain: [] });
  assert.equal(row.subject, 'dba-agent');
  assert.equal(row.actor, 'dba-agent');
  assert.deepEqual(row.actor_chain, []);
  assert.equal('actor_subject' in row, false);
});

test('given a delegated token, the subject is the principal and the actor the outermost act.sub', () => {
  const link = (subject: string) => ({ subject, issuer: null, clientId: null });
  const row = rowWith({ ...token, subject: 'alice', actChain: [link('alice'), link('planner'), link('dba-agent')] });
  assert.equal(row.subject, 'alice');
  assert.equal(row.actor, 'dba-agent');
  assert.deepEqual(row.actor_chain, ['alice', 'planner', 'dba-agent']);
  assert.deepEqual(row.actor_groups, ['dba-agents']);
});

test('given an event without an actor, both are empty', () => {
  const row = rowWith(null);
  assert.equal(row.subject, '');
  assert.equal(row.actor, '');
});

test('a legal hold names the held session and its action; retention its partition and rows', () => {
  const [opened] = sampleSession();
  assert.ok(opened);
  const envelope = { ...opened, actor: null };
  const hold: AuditEvent = {
    ...envelope,
    eventType: 'LegalHoldChanged',
    payload: { heldSessionId: 'session-under-hold', action: 'add', reason: 'case 42', requestedBy: 'bob' },
  };
  const holdRow = eventRow({ event: hold, canonicalText: canonicalEventText(hold) }, position, 0);
  assert.deepEqual([holdRow.request_id, holdRow.decision, holdRow.outcome], ['session-under-hold', 'add', 'case 42']);
  const retention: AuditEvent = {
    ...envelope,
    eventType: 'RetentionApplied',
    payload: { partition: '202601', action: 'drop', tables: ['events'], rows: 12, heldSessions: [], cutoffUs: 0, requestedBy: 'erin' },
  };
  const retentionRow = eventRow({ event: retention, canonicalText: canonicalEventText(retention) }, position, 0);
  assert.deepEqual([retentionRow.decision, retentionRow.outcome, retentionRow.row_count], ['drop', '202601', 12]);
});
