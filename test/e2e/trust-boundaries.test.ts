// Verdicts are authentic twice over: the real broker lets only the policy processor's
// principal write the verdict topic, and the ingress accepts a verdict only if it
// authentically answers the durable request (hash, session, request chain, producer).
// The second lock is tested as if the processor's credential had been stolen: with the
// real processor stopped, verdicts are forged with its principal.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { chainEvent, createEventSerde, topicNames, type AuditEvent, type AuditEventOf, type EventSerde } from '@agentgate/events';
import { kafkaAs, pgConfig, stack, stackCommand, token, uniqueMarker } from '../support/stack.js';

const { Kafka, logLevel } = kafkajs;
const topics = topicNames(process.env['AG_TOPIC_PREFIX'] ?? 'agentgate');
const METRICS_URL = `http://127.0.0.1:${process.env['AG_INGRESS_POSTGRES_ADMIN_PORT'] ?? 15480}/metrics`;

type Request = AuditEventOf<'RequestObserved'>;
type Verdict = AuditEventOf<'VerdictIssued'>;

/** Tries one write to `topic`; resolves with the failure's name and text, or 'written'. */
async function tryWrite(config: ConstructorParameters<typeof Kafka>[0], topic: string): Promise<string> {
  const producer = new Kafka({ ...config, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000 }).producer();
  try {
    await producer.connect();
    // Not an event: a write the broker lets through would be caught by every reader's decoder.
    await producer.send({ topic, acks: -1, timeout: 3000, messages: [{ key: 'e2e-forgery', value: 'not an event' }] });
    return 'written';
  } catch (err) {
    const e = err as Error & { type?: string; cause?: { type?: string } };
    return `${e.name} ${e.type ?? e.cause?.type ?? ''} ${e.message}`;
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

test('the broker refuses writes to the verdict topic from every principal but the policy processor, and from anyone without credentials', async () => {
  const authorizationFailed = /authoriz/i;
  for (const principal of ['ingress-postgres', 'projector', 'operator']) {
    const outcome = await tryWrite({ clientId: 'e2e-forger', ...kafkaAs(principal) }, topics.verdicts);
    assert.match(outcome, authorizationFailed, `${principal}: ${outcome}`);
  }
  const { brokers, ssl } = kafkaAs();
  const wrongPassword = await tryWrite(
    { clientId: 'e2e-forger', brokers, ssl, sasl: { mechanism: 'scram-sha-512', username: 'policy-processor', password: 'guess' } },
    topics.verdicts,
  );
  assert.match(wrongPassword, /SASL.*authentication failed/i);
  const noCredentials = await tryWrite({ clientId: 'e2e-forger', brokers, ssl }, topics.verdicts);
  assert.notEqual(noCredentials, 'written');
  const plaintext = await tryWrite({ clientId: 'e2e-forger', brokers }, topics.verdicts);
  assert.notEqual(plaintext, 'written');
});

test('only operators may write the control topic, and only the ingress the ingress topic', async () => {
  for (const principal of ['ingress-postgres', 'policy-processor', 'projector']) {
    assert.match(await tryWrite({ clientId: 'e2e-forger', ...kafkaAs(principal) }, topics.control), /authoriz/i, principal);
  }
  for (const principal of ['policy-processor', 'projector', 'operator']) {
    assert.match(await tryWrite({ clientId: 'e2e-forger', ...kafkaAs(principal) }, topics.ingress), /authoriz/i, principal);
  }
});

/**
 * Tries to read `topic` as `principal`, in a consumer group the principal may use: 'read' once a
 * fetch came back, else the failure's name and text.
 */
async function tryRead(principal: string, topic: string): Promise<string> {
  const consumer = new Kafka({
    clientId: 'e2e-reader',
    ...kafkaAs(principal),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0, restartOnFailure: async () => false },
    connectionTimeout: 2000,
  }).consumer({ groupId: `agentgate-${principal}.e2e-${randomUUID()}`, maxWaitTimeInMs: 100 });
  try {
    await consumer.connect();
    const outcome = new Promise<string>((resolve) => {
      consumer.on(consumer.events.FETCH, () => resolve('read'));
      consumer.on(consumer.events.CRASH, (e) => {
        const err = e.payload.error as Error & { type?: string };
        resolve(`${err.name} ${err.type ?? ''} ${err.message}`);
      });
    });
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    return await outcome;
  } catch (err) {
    const e = err as Error & { type?: string };
    return `${e.name} ${e.type ?? ''} ${e.message}`;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

test("each ingress reads its own protocol's verdicts and no other's", async () => {
  const own = { 'ingress-postgres': topics.verdicts, 'ingress-ssh': topics.sshVerdicts, 'ingress-http': topics.httpVerdicts };
  for (const [principal, mine] of Object.entries(own)) {
    assert.equal(await tryRead(principal, mine), 'read', `${principal} reads ${mine}`);
    for (const theirs of Object.values(own).filter((t) => t !== mine)) {
      assert.match(await tryRead(principal, theirs), /authoriz/i, `${principal} must not read ${theirs}`);
    }
  }
});

/** Reads the ingress topic from now on and hands over the RequestObserved whose SQL contains `marker`. */
async function watchRequests(serde: EventSerde): Promise<{ next(marker: string): Promise<Request>; stop(): Promise<void> }> {
  const consumer = new Kafka({ clientId: 'e2e-watch', ...kafkaAs(), logLevel: logLevel.NOTHING }).consumer({
    groupId: uniqueMarker('e2e-watch'),
    maxWaitTimeInMs: 100,
  });
  const seen: Request[] = [];
  let joined!: () => void;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.connect();
  await consumer.subscribe({ topic: topics.ingress, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const { event } = await serde.decode(message.value).catch(() => ({ event: undefined as AuditEvent | undefined }));
      if (event?.eventType === 'RequestObserved') seen.push(event);
    },
  });
  await ready;
  return {
    async next(marker) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = seen.find((e) => JSON.stringify(e.payload.detail).includes(marker));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no RequestObserved with ${marker} within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => consumer.disconnect(),
  };
}

/** The allow verdict the processor would write for `request`, chained onto it. */
function allowFor(request: Request, changes: Partial<Verdict> = {}): Verdict {
  return chainEvent<'VerdictIssued'>(
    {
      eventId: randomUUID(),
      eventType: 'VerdictIssued',
      sessionId: request.sessionId,
      timeUs: request.timeUs,
      producer: 'policy-processor',
      traceId: null,
      actor: request.actor,
      payload: {
        requestId: request.payload.requestId,
        decision: 'allow',
        policyVersion: 'forged',
        ruleId: null,
        reason: 'forged by e2e',
        errorCode: null,
        maskingPlan: [],
        approvalId: null,
        statementDigest: null,
        shadow: false,
        visibleTools: [],
        requestTimeUs: request.timeUs,
      },
      ...changes,
    },
    { seq: request.seq + 1, prevHash: request.hash },
  );
}

async function rejectedCounts(): Promise<Record<string, number>> {
  const text = await (await fetch(METRICS_URL)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^agentgate_verdicts_rejected_total\{reason="([^"]+)"\} (\d+)$/gm)) counts[m[1] as string] = Number(m[2]);
  return counts;
}

after(() => stackCommand('start', 'policy-processor'));

test('with the processor credential stolen, the ingress still refuses verdicts with a wrong hash, session, request or producer', async () => {
  const serde = await createEventSerde({ registryUrl: stack.registryUrl, topics: [topics.ingress, topics.verdicts] });
  const forger = new Kafka({ clientId: 'e2e-forger', ...kafkaAs('policy-processor'), logLevel: logLevel.NOTHING }).producer();
  await forger.connect();
  const watcher = await watchRequests(serde);
  stackCommand('stop', 'policy-processor');
  const client = new pg.Client(pgConfig({ applicationName: 'e2e-forgery', password: token('demo-agent') }));
  client.on('error', () => {});
  try {
    await client.connect();
    const write = async (verdict: AuditEvent): Promise<void> => {
      await forger.send({
        topic: topics.verdicts,
        acks: -1,
        messages: [{ key: verdict.sessionId, value: await serde.encode(topics.verdicts, verdict) }],
      });
    };
    const before = await rejectedCounts();

    const marker = uniqueMarker('forged');
    const started = Date.now();
    const refused = client.query(`select '${marker}' as forged`).then(
      () => undefined,
      (err: { code?: string }) => err,
    );
    const request = await watcher.next(marker);
    const good = allowFor(request);
    const tampered = { ...good, payload: { ...good.payload, reason: 'edited after hashing' } };
    await write(tampered);
    await write(allowFor(request, { sessionId: randomUUID() }));
    await write(chainEvent<'VerdictIssued'>({ ...good, eventId: randomUUID() }, { seq: request.seq + 1, prevHash: 'f'.repeat(64) }));
    await write(allowFor(request, { producer: 'someone-else' }));
    const error = await refused;
    assert.equal(error?.code, '08006', 'the statement must not run on a forged verdict');
    assert.ok(Date.now() - started < 10_000);
    const after = await rejectedCounts();
    for (const reason of ['hash', 'session', 'chain', 'producer']) {
      assert.ok((after[reason] ?? 0) > (before[reason] ?? 0), `a verdict with a wrong ${reason} is counted as rejected`);
    }
  } finally {
    await client.end().catch(() => {});
  }

  // Control: the same forger, writing a verdict that is right in every respect, is obeyed,
  // so the refusals above are due to what was wrong with each verdict.
  const control = new pg.Client(pgConfig({ applicationName: 'e2e-forgery-control', password: token('demo-agent') }));
  try {
    await control.connect();
    const marker = uniqueMarker('forged_ok');
    const answered = control.query(`select '${marker}' as forged`);
    const request = await watcher.next(marker);
    await forger.send({
      topic: topics.verdicts,
      acks: -1,
      messages: [{ key: request.sessionId, value: await serde.encode(topics.verdicts, allowFor(request)) }],
    });
    const result = await answered;
    assert.equal(result.rows[0]?.forged, marker);
  } finally {
    await control.end().catch(() => {});
    await watcher.stop();
    await forger.disconnect();
  }
});
