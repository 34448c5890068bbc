import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import {
  avroOptions,
  auditEventSchema,
  auditEventType,
  chainEvent,
  linkAfterAbandonedVerdict,
  canonicalEventText,
  canonicalJson,
  fromAvro,
  sampleSession,
  sha256Hex,
  toAvro,
  auditTopics,
  chainedTopics,
  topicNames,
  verdictTopicForProtocol,
  verdictTopicOf,
  verdictTopics,
  verifyChain,
  verifyStoredChain,
  type AuditEvent,
  type AuditEventOf,
} from './index.js';

test('canonical JSON sorts keys, keeps array order and refuses non-integers', () => {
  assert.equal(canonicalJson({ b: 1, a: [2, null, 'x'], c: { z: true, y: null } }), '{"a":[2,null,"x"],"b":1,"c":{"y":null,"z":true}}');
  assert.throws(
    () => canonicalJson({ a: 1.5 }),
    (e: { code?: string }) => e.code === 'AG_ERR_EVENT_INVALID',
  );
});

test('every sample event round-trips through Avro unchanged, hash included', () => {
  const type = auditEventType();
  for (const event of sampleSession()) {
    const decoded = type.fromBuffer(type.toBuffer(toAvro(event))) as Record<string, unknown>;
    assert.deepEqual(fromAvro(decoded), event);
    // The canonical text a consumer derives from the writer's decoded form equals the producer's.
    const { hash: _h, ...unhashed } = decoded;
    assert.equal(canonicalJson(unhashed), canonicalEventText(event));
    assert.equal(sha256Hex(canonicalJson(unhashed)), event.hash);
  }
});

test('payload unions are wrapped with full names, nullable unions are not', () => {
  const [, request] = sampleSession();
  const form = toAvro(request as AuditEvent);
  assert.ok('agentgate.v1.RequestObserved' in form.payload);
  const requestObserved = form.payload['agentgate.v1.RequestObserved'];
  assert.ok(requestObserved);
  assert.ok('agentgate.v1.SqlRequest' in (requestObserved['detail'] as object));
  assert.equal(form['prevHash'], (sampleSession()[0] as AuditEvent).hash);
});

test('given a chained session, when verified, then it holds', () => {
  const result = verifyChain(sampleSession());
  assert.deepEqual(result, { ok: true, length: 5 });
});

test('given a chained session, when an event is edited, removed or reordered, then verification fails at it', () => {
  const edited = sampleSession();
  const request = edited[1] as AuditEvent & { eventType: 'RequestObserved' };
  edited[1] = { ...request, payload: { ...request.payload, detail: { ...request.payload.detail, text: 'drop table x' } } } as AuditEvent;
  assert.deepEqual(pick(verifyChain(edited)), { ok: false, code: 'AG_ERR_HASH_CHAIN_BROKEN', atSeq: 1 });

  const removed = sampleSession();
  removed.splice(2, 1);
  assert.deepEqual(pick(verifyChain(removed)), { ok: false, code: 'AG_ERR_HASH_CHAIN_BROKEN', atSeq: 3 });

  const stored = sampleSession().map((e) => ({ seq: e.seq, hash: e.hash, prevHash: e.prevHash, canonicalText: canonicalEventText(e) }));
  const reordered = stored.map((e) => (e.seq === 1 ? { ...e, seq: 2 } : e.seq === 2 ? { ...e, seq: 1 } : e));
  assert.equal(verifyStoredChain(reordered).ok, false);
  const forked = [...stored, { ...stored[4]!, canonicalText: stored[4]!.canonicalText.replace('client-terminate', 'killed') }];
  assert.equal(verifyStoredChain(forked).ok, false);
});

test('given a verdict the ingress gave up on, when the session goes on, then the chain holds with or without the late verdict', () => {
  const [opened, request, verdict] = sampleSession() as [AuditEvent, AuditEvent, AuditEvent];
  const closed = chainEvent(
    {
      ...withoutChain(sampleSession()[4]!),
      payload: { reason: 'error', errorCode: 'AG_ERR_VERDICT_TIMEOUT', durationUs: 1, requestCount: 1 },
    },
    linkAfterAbandonedVerdict(request),
  ) as AuditEvent;
  assert.equal(closed.seq, 3);
  assert.deepEqual(verifyChain([opened, request, closed]), { ok: true, length: 3 });
  assert.deepEqual(verifyChain([opened, request, verdict, closed]), { ok: true, length: 4 });
  // But a verdict the ingress did adopt cannot be removed unnoticed.
  const session = sampleSession();
  assert.equal(verifyChain(session.filter((e) => e.eventType !== 'VerdictIssued')).ok, false);
});

test('given a statement sent for approval whose final verdict the ingress gave up on, the chain holds with or without the late final verdict', () => {
  const [opened, request, verdict] = sampleSession() as [AuditEvent, AuditEvent, AuditEvent];
  const pending = chainEvent(
    { ...withoutChain(verdict), payload: { ...(verdict as AuditEventOf<'VerdictIssued'>).payload, decision: 'pending_approval' as const } },
    { seq: verdict.seq, prevHash: verdict.prevHash },
  ) as AuditEvent;
  const late = chainEvent(
    { ...withoutChain(verdict), eventId: 'late-final' },
    { seq: pending.seq + 1, prevHash: pending.hash },
  ) as AuditEvent;
  const closed = chainEvent(
    { ...withoutChain(sampleSession()[4]!), payload: { reason: 'client-terminate', errorCode: null, durationUs: 1, requestCount: 1 } },
    linkAfterAbandonedVerdict(pending),
  ) as AuditEvent;
  assert.deepEqual(verifyChain([opened, request, pending, closed]), { ok: true, length: 4 });
  assert.deepEqual(verifyChain([opened, request, pending, late, closed]), { ok: true, length: 5 });
  // An allow verdict's slot is not skippable that way: only a pending one waits for another verdict.
  const afterAllow = chainEvent({ ...withoutChain(closed) }, linkAfterAbandonedVerdict(verdict)) as AuditEvent;
  assert.equal(verifyChain([opened, request, verdict, afterAllow]).ok, false);
});

test('events written with the first schema version still decode after a field is added', () => {
  const v1 = auditEventSchema();
  const v2 = structuredClone(v1) as { fields: Array<Record<string, unknown>> };
  v2.fields.push({ name: 'tenant', type: ['null', 'string'], default: null });
  const writer = avro.Type.forSchema(v1 as avro.Schema, avroOptions());
  const reader = avro.Type.forSchema(v2 as avro.Schema, avroOptions());
  const resolver = reader.createResolver(writer);
  for (const event of sampleSession()) {
    const decoded = reader.fromBuffer(writer.toBuffer(toAvro(event)), resolver) as Record<string, unknown>;
    assert.equal(decoded['tenant'], null);
    assert.deepEqual(fromAvro(decoded), event);
  }
});

test('topic names are prefixed and versioned', () => {
  assert.deepEqual(
    { ...topicNames('t1') },
    {
      ingress: 't1.ingress.v1',
      verdicts: 't1.verdicts.v1',
      sshVerdicts: 't1.verdicts-ssh.v1',
      httpVerdicts: 't1.verdicts-http.v1',
      control: 't1.control.v1',
      approvals: 't1.approvals.v1',
      approvalDecisions: 't1.approval-decisions.v1',
      policies: 't1.policies.v1',
      shadowVerdicts: 't1.shadow-verdicts.v1',
      checkpoints: 't1.checkpoints.v1',
      governance: 't1.governance.v1',
    },
  );
});

test("each ingress reads a verdict topic of its own, and a request's verdict goes to its ingress's", () => {
  const names = topicNames('t1');
  assert.equal(verdictTopicOf(names, 'postgres'), 't1.verdicts.v1');
  assert.equal(verdictTopicOf(names, 'ssh'), 't1.verdicts-ssh.v1');
  assert.equal(verdictTopicOf(names, 'http'), 't1.verdicts-http.v1');
  assert.equal(verdictTopicForProtocol(names, 'postgres'), verdictTopicOf(names, 'postgres'));
  assert.equal(verdictTopicForProtocol(names, 'ssh'), verdictTopicOf(names, 'ssh'));
  // MCP sessions are the HTTP ingress's.
  assert.equal(verdictTopicForProtocol(names, 'http'), verdictTopicOf(names, 'http'));
  assert.equal(verdictTopicForProtocol(names, 'mcp'), verdictTopicOf(names, 'http'));
  assert.equal(verdictTopicForProtocol(names, 'gopher'), names.verdicts);
  // All three are hash-chained audit topics: projected and checkpointed with the rest.
  for (const t of verdictTopics(names)) assert.ok(chainedTopics(names).includes(t) && auditTopics(names).includes(t));
  assert.equal(new Set(verdictTopics(names)).size, 3);
});

test('checkpoints and governance records are audit topics, projected with the rest; policies and verdict feeds are not duplicated', () => {
  const names = topicNames('t1');
  const audit = auditTopics(names);
  assert.ok(audit.includes(names.checkpoints) && audit.includes(names.governance));
  assert.equal(audit.includes(names.policies), false);
  assert.equal(new Set(audit).size, audit.length);
});

function pick(v: ReturnType<typeof verifyChain>): object {
  return v.ok ? v : { ok: v.ok, code: v.code, atSeq: v.atSeq };
}

function withoutChain(event: AuditEvent): Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> {
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = event;
  return rest;
}
