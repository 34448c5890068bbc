// given / when / then: given the session so far, when a request is decided, then these events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainEvent, nextLink, sampleSession, verifyChain, type AuditEvent, type AuditEventOf, type SqlRequest } from '@agentgate/events';
import { decide, minimalPolicy } from './index.js';

const NOW = 1_795_000_000_500_000;

function requestWith(kinds: string[], kind = kinds.length === 1 ? kinds[0]! : 'MULTI'): { history: AuditEvent[]; request: AuditEventOf<'RequestObserved'> } {
  const [opened, sample] = sampleSession() as [AuditEvent, AuditEventOf<'RequestObserved'>];
  const { seq: _s, prevHash: _p, hash: _h, ...unchained } = sample;
  const request = chainEvent(
    { ...unchained, payload: { ...sample.payload, detail: { ...(sample.payload.detail as SqlRequest), statementKind: kind, statementKinds: kinds } } },
    nextLink(opened),
  ) as AuditEventOf<'RequestObserved'>;
  return { history: [opened, request], request };
}

function when(kinds: string[], kind?: string): AuditEventOf<'VerdictIssued'>[] {
  const { request } = requestWith(kinds, kind);
  return decide(
    { type: 'DecideRequest', subject: { request, classification: { statementKind: kind ?? (kinds.length === 1 ? kinds[0]! : 'MULTI'), statementKinds: kinds } }, nowUs: NOW, producer: 'policy-test' },
    minimalPolicy(),
  ) as AuditEventOf<'VerdictIssued'>[];
}

test('given a SELECT, when decided, then one allow verdict chained to the request', () => {
  const { history, request } = requestWith(['SelectStmt']);
  const events = decide({ type: 'DecideRequest', subject: { request, classification: { statementKind: 'SelectStmt', statementKinds: ['SelectStmt'] } }, nowUs: NOW, producer: 'p' }, minimalPolicy());
  assert.equal(events.length, 1);
  const verdict = events[0] as AuditEventOf<'VerdictIssued'>;
  assert.equal(verdict.payload.decision, 'allow');
  assert.equal(verdict.payload.ruleId, null);
  assert.equal(verdict.payload.requestId, request.payload.requestId);
  assert.equal(verdict.timeUs, NOW);
  assert.deepEqual(verifyChain([...history, verdict]), { ok: true, length: 3 });
});

test('given a DROP TABLE, when decided, then deny by rule deny-drop', () => {
  const [verdict] = when(['DropStmt']);
  assert.equal(verdict?.payload.decision, 'deny');
  assert.equal(verdict?.payload.ruleId, 'deny-drop');
  assert.equal(verdict?.payload.errorCode, 'AG_ERR_POLICY_DENIED');
});

test('given a DROP hidden after a SELECT, when decided, then the whole string is denied', () => {
  assert.equal(when(['SelectStmt', 'DropdbStmt'])[0]?.payload.ruleId, 'deny-drop');
});

test('given unparseable SQL, when decided, then deny (fail closed)', () => {
  assert.equal(when([], 'UNPARSEABLE')[0]?.payload.ruleId, 'deny-unparseable');
});

test('deciding the same request twice gives the same verdict id (idempotent consumers)', () => {
  assert.equal(when(['SelectStmt'])[0]?.eventId, when(['SelectStmt'])[0]?.eventId);
});

test('given dba-agents on scratch, when a DROP is decided, then it is allowed by allow-dba-scratch', () => {
  const { request } = requestWith(['DropStmt']);
  const onScratch = { ...request, actor: { ...request.actor!, groups: ['dba-agents'] }, payload: { ...request.payload, connection: 'scratch' } };
  const [verdict] = decide({ type: 'DecideRequest', subject: { request: onScratch, classification: { statementKind: 'DropStmt', statementKinds: ['DropStmt'] } }, nowUs: NOW, producer: 'p' }, minimalPolicy()) as AuditEventOf<'VerdictIssued'>[];
  assert.equal(verdict?.payload.decision, 'allow');
  assert.equal(verdict?.payload.ruleId, 'allow-dba-scratch');
  const onDemo = { ...onScratch, payload: { ...onScratch.payload, connection: 'demo' } };
  const [denied] = decide({ type: 'DecideRequest', subject: { request: onDemo, classification: { statementKind: 'DropStmt', statementKinds: ['DropStmt'] } }, nowUs: NOW, producer: 'p' }, minimalPolicy()) as AuditEventOf<'VerdictIssued'>[];
  assert.equal(denied?.payload.ruleId, 'deny-drop');
});
