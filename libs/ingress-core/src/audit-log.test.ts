import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { sqlDetail, verifyChain, type AuditEvent } from '@agentgate/events';
import { SessionAudit, type AuditSink } from './audit-log.js';

function memorySink(failAfter = Infinity): AuditSink & { written: AuditEvent[] } {
  const written: AuditEvent[] = [];
  return {
    written,
    async write(_topic, event) {
      if (written.length >= failAfter) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE');
      written.push(event);
    },
  };
}

function audit(sink: AuditSink): SessionAudit {
  let n = 0;
  let t = 1_000;
  return new SessionAudit({
    sink,
    topic: 't',
    sessionId: 's-1',
    producer: 'test',
    actor: { subject: 'a', issuer: 'i', groups: [], actChain: [], tokenId: null, authMethod: 'none' },
    newEventId: () => `id-${n++}`,
    nowUs: () => t++,
  });
}

const opened = {
  protocol: 'postgres',
  connection: 'demo',
  targetHost: null,
  targetPort: null,
  targetDatabase: null,
  clientAddress: '127.0.0.1',
  clientPort: 1,
  clientTls: false,
  clientApplication: null,
  ingressInstance: 'i',
  startupParameters: [],
  targetUser: null,
};
const closed = { reason: 'error', errorCode: 'AG_ERR_VERDICT_TIMEOUT', durationUs: 0, requestCount: 1 };
const request = {
  requestId: 'r',
  protocol: 'postgres',
  connection: 'demo',
  detail: sqlDetail('select 1'),
};

test('events are chained in order and only after the sink acknowledged them', async () => {
  const sink = memorySink();
  const a = audit(sink);
  await a.record('SessionOpened', opened, 100);
  await a.record('SessionClosed', { ...closed, reason: 'client-terminate', errorCode: null }, 100);
  assert.deepEqual(
    sink.written.map((e) => e.seq),
    [0, 1],
  );
  assert.deepEqual(verifyChain(sink.written), { ok: true, length: 2 });
});

test('after a failed write the session writes nothing more', async () => {
  const sink = memorySink(1);
  const a = audit(sink);
  await a.record('SessionOpened', opened, 100);
  await assert.rejects(a.record('RequestObserved', request, 100), (e: { code?: string }) => e.code === 'AG_ERR_AUDIT_UNAVAILABLE');
  await assert.rejects(a.record('SessionClosed', closed, 100), (e: { code?: string }) => e.code === 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.equal(sink.written.length, 1);
});

test('an abandoned verdict slot keeps the chain verifiable', async () => {
  const sink = memorySink();
  const a = audit(sink);
  await a.record('SessionOpened', opened, 100);
  const req = await a.record('RequestObserved', request, 100);
  a.abandonVerdict(req);
  await a.record('SessionClosed', closed, 100);
  assert.deepEqual(
    sink.written.map((e) => e.seq),
    [0, 1, 3],
  );
  assert.deepEqual(verifyChain(sink.written), { ok: true, length: 3 });
});

/** A sink that takes `writeAll` batches, so a test can see which events shared one write. */
function batchingSink(fail = false): AuditSink & { batches: AuditEvent[][] } {
  const batches: AuditEvent[][] = [];
  return {
    batches,
    async write(_topic, event) {
      if (fail) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE');
      batches.push([event]);
    },
    async writeAll(_topic, events) {
      if (fail) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE');
      batches.push([...events]);
    },
  };
}

test('recordAll chains its events in order and hands them to the sink as one write', async () => {
  const sink = batchingSink();
  const a = audit(sink);
  const events = await a.recordAll(
    [
      { eventType: 'SessionOpened', payload: opened },
      { eventType: 'RequestObserved', payload: request, eventId: 'r' },
    ],
    100,
  );
  assert.deepEqual(
    events.map((e) => [e.eventType, e.seq]),
    [
      ['SessionOpened', 0],
      ['RequestObserved', 1],
    ],
  );
  assert.equal(events[1]!.eventId, 'r');
  await a.record('SessionClosed', { ...closed, reason: 'complete', errorCode: null }, 100);
  assert.deepEqual(
    sink.batches.map((b) => b.map((e) => e.eventType)),
    [['SessionOpened', 'RequestObserved'], ['SessionClosed']],
  );
  assert.deepEqual(verifyChain(sink.batches.flat()), { ok: true, length: 3 });
});

test('recordAll without writeAll writes one event after another, still chained', async () => {
  const sink = memorySink();
  const a = audit(sink);
  await a.recordAll(
    [
      { eventType: 'SessionOpened', payload: opened },
      { eventType: 'SessionClosed', payload: closed },
    ],
    100,
  );
  assert.deepEqual(verifyChain(sink.written), { ok: true, length: 2 });
});

test('a failed recordAll leaves the session failed: nothing more is written', async () => {
  const sink = batchingSink(true);
  const a = audit(sink);
  await assert.rejects(
    a.recordAll(
      [
        { eventType: 'SessionOpened', payload: opened },
        { eventType: 'RequestObserved', payload: request },
      ],
      100,
    ),
    (e: { code?: string }) => e.code === 'AG_ERR_AUDIT_UNAVAILABLE',
  );
  await assert.rejects(a.record('SessionClosed', closed, 100), (e: { code?: string }) => e.code === 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.equal(sink.batches.length, 0);
});
