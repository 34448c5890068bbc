// given / when / then: given the session so far, when a request is decided, then these events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalEventText,
  chainEvent,
  fromAvro,
  nextLink,
  sampleSession,
  toAvro,
  verifyChain,
  type AuditEvent,
  type AuditEventOf,
  type SqlRequest,
} from '@agentgate/events';
import { VERDICT_PRODUCER, decide, minimalPolicy, type DecideRequest } from './index.js';

function requestWith(
  kinds: string[],
  kind = kinds.length === 1 ? kinds[0]! : 'MULTI',
): { history: AuditEvent[]; request: AuditEventOf<'RequestObserved'> } {
  const [opened, sample] = sampleSession() as [AuditEvent, AuditEventOf<'RequestObserved'>];
  const { seq: _s, prevHash: _p, hash: _h, ...unchained } = sample;
  const request = chainEvent(
    {
      ...unchained,
      payload: { ...sample.payload, detail: { ...(sample.payload.detail as SqlRequest), statementKind: kind, statementKinds: kinds } },
    },
    nextLink(opened),
  ) as AuditEventOf<'RequestObserved'>;
  return { history: [opened, request], request };
}

function command(
  request: AuditEventOf<'RequestObserved'>,
  kinds: string[],
  kind = kinds.length === 1 ? kinds[0]! : 'MULTI',
): DecideRequest {
  return { type: 'DecideRequest', subject: { request, classification: { statementKind: kind, statementKinds: kinds } } };
}

function when(kinds: string[], kind?: string): AuditEventOf<'VerdictIssued'>[] {
  const { request } = requestWith(kinds, kind);
  return decide(command(request, kinds, kind), minimalPolicy()) as AuditEventOf<'VerdictIssued'>[];
}

test("given a SELECT, when decided, then one allow verdict chained to the request, at the request's time", () => {
  const { history, request } = requestWith(['SelectStmt']);
  const events = decide(command(request, ['SelectStmt']), minimalPolicy());
  assert.equal(events.length, 1);
  const verdict = events[0] as AuditEventOf<'VerdictIssued'>;
  assert.equal(verdict.payload.decision, 'allow');
  assert.equal(verdict.payload.ruleId, null);
  assert.equal(verdict.payload.requestId, request.payload.requestId);
  assert.equal(verdict.timeUs, request.timeUs);
  assert.equal(verdict.producer, VERDICT_PRODUCER);
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

// The verdict of requestWith(['SelectStmt']) as recorded; the canonical text is what the hash covers.
// Its prevHash is the request's hash, so a change to the sample request is re-recorded here
// (last re-recorded when VerdictIssued gained visibleTools: the text differs by that field only).
const RECORDED_SELECT_VERDICT = {
  hash: 'd67569d20b887ea43543f9682d96f17973adb946eb7cadf0b40f4d0df3ab9435',
  canonicalText:
    '{"actor":{"actChain":[{"clientId":null,"issuer":null,"subject":"dave"}],"authMethod":"none","groups":["agents"],"issuer":"unverified:startup","subject":"demo-agent","tokenId":null},"eventId":"516de7f6-6a3f-842e-90ee-d11045ca8861","eventType":"VerdictIssued","payload":{"agentgate.v1.VerdictIssued":{"approvalId":null,"decision":"allow","errorCode":null,"maskingPlan":[],"policyVersion":"minimal-2","reason":"no rule matched; policy default is allow","requestId":"1c9e7a52-2f0b-4d0e-8a43-6e5b2d7c9f10","requestTimeUs":1795000000000010,"ruleId":null,"shadow":false,"statementDigest":null,"visibleTools":[]}},"prevHash":"e2417e45d6d09909f9e7ebd99c525b3be31acf269dabdb98fddc6d28f549c6c5","producer":"policy-processor","seq":2,"sessionId":"0b8a3f0e-7c1e-4a53-9a53-3f1c9b1d2e01","timeUs":1795000000000010,"traceId":null}',
};

test('given a request decided once, when it is re-decided after a restart, an hour later, from the request as re-read from Kafka, then the verdict is byte-identical', (t) => {
  const { request } = requestWith(['SelectStmt']);
  // Nothing of the deciding instance may reach the verdict: not its clock...
  t.mock.timers.enable({ apis: ['Date'], now: Math.floor(request.timeUs / 1000) + 5 });
  const [first] = decide(command(request, ['SelectStmt']), minimalPolicy());
  t.mock.timers.setTime(Math.floor(request.timeUs / 1000) + 3_600_000);
  // ...nor the decoded copy it reads the request from after a restart.
  const reread = fromAvro(structuredClone(toAvro(request))) as AuditEventOf<'RequestObserved'>;
  const [again] = decide(command(reread, ['SelectStmt']), minimalPolicy());
  assert.ok(first && again);
  assert.equal(canonicalEventText(again), canonicalEventText(first));
  assert.equal(again.hash, first.hash);
  assert.equal(again.eventId, first.eventId);
  // And no other build or instance decides differently: the recorded verdict is replayed.
  assert.deepEqual({ hash: first.hash, canonicalText: canonicalEventText(first) }, RECORDED_SELECT_VERDICT);
});

test('given dba-agents on scratch, when a DROP is decided, then it is allowed by allow-dba-scratch', () => {
  const { request } = requestWith(['DropStmt']);
  const onScratch = {
    ...request,
    actor: { ...request.actor!, groups: ['dba-agents'] },
    payload: { ...request.payload, connection: 'scratch' },
  };
  const [verdict] = decide(command(onScratch, ['DropStmt']), minimalPolicy()) as AuditEventOf<'VerdictIssued'>[];
  assert.equal(verdict?.payload.decision, 'allow');
  assert.equal(verdict?.payload.ruleId, 'allow-dba-scratch');
  const onDemo = { ...onScratch, payload: { ...onScratch.payload, connection: 'demo' } };
  const [denied] = decide(command(onDemo, ['DropStmt']), minimalPolicy()) as AuditEventOf<'VerdictIssued'>[];
  assert.equal(denied?.payload.ruleId, 'deny-drop');
});
