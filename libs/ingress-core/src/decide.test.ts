import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditEvent, type EventSerde, sqlDetail, verifyChain } from '@agentgate/events';
import type { Producer } from 'kafkajs';
import { type AuditSink, kafkaAuditSink, SessionAudit } from './audit-log.js';
import { decideRequest } from './decide.js';
import { allowingVerdictFeed } from './testing/index.js';
import type { VerdictFeed } from './verdict-feed.js';

const actor = { subject: 'a', issuer: 'i', groups: [], actChain: [], tokenId: null, authMethod: 'none' };
const opened = {
  protocol: 'http',
  connection: 'demo',
  targetHost: null,
  targetPort: null,
  targetDatabase: null,
  clientAddress: '127.0.0.1',
  clientPort: 1,
  clientTls: true,
  clientApplication: null,
  ingressInstance: 'i',
  startupParameters: [],
  targetUser: null,
};
const request = { requestId: 'r-1', protocol: 'http', connection: 'demo', detail: sqlDetail('select 1') };

/** What happened, in order: the feed's expect and each sink write (with the events it carried). */
function harness(): { log: string[]; sink: AuditSink; written: AuditEvent[]; verdicts: VerdictFeed; audit: SessionAudit } {
  const log: string[] = [];
  const written: AuditEvent[] = [];
  const sink: AuditSink = {
    async write(_topic, event) {
      log.push(`write ${event.eventType}`);
      written.push(event);
    },
    async writeAll(_topic, events) {
      log.push(`writeAll ${events.map((e) => e.eventType).join('+')}`);
      written.push(...events);
    },
  };
  const verdicts = allowingVerdictFeed(actor, (requestId) => log.push(`expect ${requestId}`));
  let n = 0;
  let t = 1000;
  const audit = new SessionAudit({
    sink,
    topic: 't',
    sessionId: 's-1',
    producer: 'ingress',
    actor,
    newEventId: () => `e-${n++}`,
    nowUs: () => t++,
  });
  return { log, sink, written, verdicts, audit };
}

const options = (verdicts: VerdictFeed) => ({ verdicts, auditWriteTimeoutMs: 100, verdictTimeoutMs: 100, approvalWaitMs: 0 });

test('a preceding SessionOpened travels with the request in one write, after the verdict is expected', async () => {
  const h = harness();
  const decided = await decideRequest(h.audit, options(h.verdicts), request, [{ eventType: 'SessionOpened', payload: opened }]);
  assert.deepEqual(h.log, ['expect r-1', 'writeAll SessionOpened+RequestObserved']);
  assert.equal(decided.request.seq, 1);
  assert.equal(decided.request.eventId, 'r-1');
  assert.equal(decided.verdict.payload.decision, 'allow');
  // The verdict was adopted: the next event chains after it.
  await h.audit.record('SessionClosed', { reason: 'complete', errorCode: null, durationUs: 0, requestCount: 1 }, 100);
  assert.deepEqual(verifyChain([...h.written.slice(0, 2), decided.verdict, ...h.written.slice(2)]), { ok: true, length: 4 });
});

test('without preceding events the request is written alone', async () => {
  const h = harness();
  await h.audit.record('SessionOpened', opened, 100);
  await decideRequest(h.audit, options(h.verdicts), request);
  assert.deepEqual(h.log, ['write SessionOpened', 'expect r-1', 'write RequestObserved']);
});

test('the Kafka sink sends the events of one writeAll in one produce request, in chain order', async () => {
  const sent: { topic: string; keys: string[]; values: string[] }[][] = [];
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: { key: string; value: Buffer }[] }[] }) => {
      sent.push(
        topicMessages.map((t) => ({
          topic: t.topic,
          keys: t.messages.map((m) => m.key),
          values: t.messages.map((m) => m.value.toString()),
        })),
      );
    },
  } as unknown as Producer;
  const serde = { encode: async (_topic: string, event: AuditEvent) => Buffer.from(event.eventType) } as unknown as EventSerde;
  const h = harness();
  const audit = new SessionAudit({
    sink: kafkaAuditSink(producer, serde, 'ingress-test'),
    topic: 'ingress',
    sessionId: 's-1',
    producer: 'ingress',
    actor,
    newEventId: () => 'e',
    nowUs: () => 1,
  });
  await decideRequest(audit, options(h.verdicts), request, [{ eventType: 'SessionOpened', payload: opened }]);
  assert.deepEqual(sent, [[{ topic: 'ingress', keys: ['s-1', 's-1'], values: ['SessionOpened', 'RequestObserved'] }]]);
});
