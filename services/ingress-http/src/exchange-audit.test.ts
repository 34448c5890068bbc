// The pipeline audit of an HTTP exchange costs two acknowledged writes: the session's opening
// with its request, its response with its close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '@agentgate/events';
import type { AuditSink } from '@agentgate/ingress-core';
import { allowingVerdictFeed } from '@agentgate/ingress-core/testing';
import { pipelineAudit } from './exchange-audit.js';
import { httpDetail, httpResponse } from './records.js';

const actor = { subject: 'demo-agent', issuer: 'test', groups: ['agents'], actChain: [], tokenId: null, authMethod: 'test' };

/** Answers every request with an allow verdict chained after it. */
const allowAll = allowingVerdictFeed(actor);

test('an exchange is two writes: SessionOpened with the request, the response with SessionClosed', async () => {
  const writes: AuditEvent[][] = [];
  const sink: AuditSink = {
    write: async (_topic, event) => {
      writes.push([event]);
    },
    writeAll: async (_topic, events) => {
      writes.push([...events]);
    },
  };
  let n = 0;
  const start = pipelineAudit({
    sink,
    topic: 'ingress',
    verdicts: allowAll,
    producer: 'ingress-http/test',
    newId: () => `id-${n++}`,
    nowUs: () => 1000 + n++,
    auditWriteTimeoutMs: 100,
    verdictTimeoutMs: 100,
    approvalWaitMs: 0,
  });
  const audit = start('s-1', actor);
  const opened = {
    protocol: 'http',
    connection: 'registry',
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
  const detail = httpDetail({
    method: 'GET',
    path: '/x',
    query: null,
    headers: [],
    bodyDigest: null,
    body: null,
    bodyBytes: 0,
    contentType: null,
  });
  const verdict = await audit.openAndDecide(opened, { requestId: 'r-1', protocol: 'http', connection: 'registry', detail });
  assert.equal(verdict.decision, 'allow');
  await audit.respondAndClose(httpResponse('r-1', 'ok', { httpStatus: 200 }), {
    reason: 'complete',
    errorCode: null,
    durationUs: 1,
    requestCount: 1,
  });
  assert.deepEqual(
    writes.map((w) => w.map((e) => e.eventType)),
    [
      ['SessionOpened', 'RequestObserved'],
      ['ResponseObserved', 'SessionClosed'],
    ],
  );
  // The chain runs through the verdict the processor wrote (seq 2).
  assert.deepEqual(
    writes.flat().map((e) => e.seq),
    [0, 1, 3, 4],
  );
});
