// The checkpointer against real Kafka and Apicurio, with its own topics: events produced just
// before a checkpoint is asked for are in it (it reads up to the end offsets first), the
// checkpoint read back from Kafka verifies against the published key and links onto its
// predecessor, and a restarted checkpointer continues the same chain, listing only what advanced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { checkpointChainId, verifyCheckpointSignature, type TrustedKey } from '@agentgate/audit-verify';
import {
  chainEvent,
  chainedTopics,
  createEventSerde,
  sampleSession,
  topicNames,
  verifyChain,
  type AuditEvent,
  type AuditEventOf,
  type EventSerde,
} from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { startAdminServer, type AdminServer } from '@agentgate/observability';
import { createCheckpointer, type Checkpointer, type CheckpointResult } from './app.js';
import { checkpointerOptions, loadConfig } from './config.js';
import { publicKeyList, writePublicKeyFile } from './public-key.js';

const id = randomUUID().slice(0, 8);
const prefix = `it-${id}`;
const topics = topicNames(prefix);
const dir = mkdtempSync(join(tmpdir(), 'checkpointer-it-'));
const keyFile = join(dir, 'checkpoint.key');
const publicKeyFile = join(dir, 'checkpoint-keys.json');
writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const config = loadConfig({
  ...process.env,
  AG_TOPIC_PREFIX: prefix,
  AG_CHECKPOINT_KEY_FILE: keyFile,
  AG_CHECKPOINT_PUBLIC_KEY_FILE: publicKeyFile,
  AG_CHECKPOINT_ID: `it-${id}`,
  AG_CHECKPOINTER_CONSUMER_GROUP: `it-checkpointer-${id}`,
  AG_CHECKPOINT_CATCH_UP_MS: '20000',
  AG_CHECKPOINTER_ADMIN_PORT: '0',
});
const chainId = checkpointChainId(config.checkpointerId);
const logger = pino({ level: 'warn' });
const kafka = createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: `it-${id}`, retry: 'fast', logger });
let serde: EventSerde;

interface Running {
  checkpointer: Checkpointer;
  admin: AdminServer;
}

async function startService(): Promise<Running> {
  const checkpointer = createCheckpointer({
    options: checkpointerOptions(config),
    kafka,
    serde,
    topics,
    logger,
    nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
  });
  await checkpointer.start();
  const admin = await startAdminServer({
    port: config.adminPort,
    readiness: () => checkpointer.readiness(),
    metrics: () => checkpointer.metrics(),
    actions: { checkpoint: () => checkpointer.checkpoint() },
  });
  return { checkpointer, admin };
}

async function stopService(running: Running): Promise<void> {
  await running.admin.close();
  await running.checkpointer.stop();
}

async function postCheckpoint(running: Running): Promise<CheckpointResult> {
  const res = await fetch(`http://127.0.0.1:${running.admin.port}/checkpoint`, { method: 'POST' });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as CheckpointResult;
}

function topicOf(event: AuditEvent): string {
  if (event.eventType !== 'VerdictIssued') return topics.ingress;
  return event.payload.shadow ? topics.shadowVerdicts : topics.verdicts;
}

/** Produces events, one request per topic (in order within each), so many land at once. */
async function produce(events: readonly AuditEvent[]): Promise<void> {
  const byTopic = new Map<string, { key: string; value: Buffer }[]>();
  for (const event of events) {
    const topic = topicOf(event);
    const messages = byTopic.get(topic) ?? [];
    messages.push({ key: event.sessionId, value: await serde.encode(topic, event) });
    byTopic.set(topic, messages);
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  } finally {
    await producer.disconnect();
  }
}

/** The checkpoints topic read from the beginning until it holds `count` events. */
async function readCheckpoints(count: number): Promise<AuditEventOf<'CheckpointSigned'>[]> {
  const found: AuditEventOf<'CheckpointSigned'>[] = [];
  const consumer = kafka.consumer({ groupId: `it-read-${id}-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: topics.checkpoints, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const { event } = await serde.decode(message.value);
        assert.equal(event.eventType, 'CheckpointSigned');
        found.push(event as AuditEventOf<'CheckpointSigned'>);
      },
    });
    const deadline = Date.now() + 15_000;
    while (found.length < count) {
      if (Date.now() > deadline) throw new Error(`read ${found.length} of ${count} checkpoints`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return found;
  } finally {
    await consumer.disconnect();
  }
}

/** A shadow verdict of a sample session's request: shares the live verdict's slot, chained onto the request. */
function shadowVerdict(session: AuditEvent[]): AuditEvent {
  const verdict = session[2] as AuditEventOf<'VerdictIssued'>;
  return chainEvent(
    { ...verdict, eventId: randomUUID(), payload: { ...verdict.payload, shadow: true, decision: 'deny' } },
    { seq: 2, prevHash: session[1]!.hash },
  ) as AuditEvent;
}

before(async () => {
  serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [...chainedTopics(topics), topics.checkpoints] });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    ...chainedTopics(topics).map((topic) => ({ topic, numPartitions: 3, configs: AUDIT_TOPIC_CONFIG })),
    { topic: topics.checkpoints, numPartitions: 1, configs: AUDIT_TOPIC_CONFIG },
  ]);
  await admin.disconnect();
});

after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [...chainedTopics(topics), topics.checkpoints] }).catch(() => {});
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

test('checkpoints cover what was in Kafka, verify against the published key, and chain across a restart', async () => {
  writePublicKeyFile(publicKeyFile, publicKeyList(config.signingKey, 'it'));
  const trusted = (JSON.parse(readFileSync(publicKeyFile, 'utf8')) as { keys: TrustedKey[] }).keys;
  const a = sampleSession(randomUUID());
  const b = sampleSession(randomUUID());
  const bShadow = shadowVerdict(b);

  let running = await startService();
  let first: CheckpointResult;
  try {
    // Produced just before the checkpoint is asked for, many at once: it must wait to read them all.
    const bulk = Array.from({ length: 400 }, () => sampleSession(randomUUID()));
    await produce([...a, ...b.slice(0, 2), bShadow, ...bulk.flat()]);
    first = await postCheckpoint(running);
    assert.equal(first.seq, 0);
    const expected = [
      { sessionId: a[0]!.sessionId, seq: 4, hash: a[4]!.hash, events: 5 },
      // b is open: its request is the head; the shadow verdict counts as an event only.
      { sessionId: b[0]!.sessionId, seq: 1, hash: b[1]!.hash, events: 3 },
      ...bulk.map((s) => ({ sessionId: s[0]!.sessionId, seq: 4, hash: s[4]!.hash, events: 5 })),
    ].sort((x, y) => (x.sessionId < y.sessionId ? -1 : 1));
    assert.equal(first.heads.length, expected.length);
    assert.deepEqual(first.heads, expected);
    assert.deepEqual(running.checkpointer.readiness(), { consumerJoined: true, rebuilt: true, producerConnected: true });
    assert.match(running.checkpointer.metrics(), /agentgate_checkpoints_signed_total 1\n/);
    assert.match(running.checkpointer.metrics(), /agentgate_checkpoint_sessions_tracked 402\n/);
  } finally {
    await stopService(running);
  }

  const [stored] = await readCheckpoints(1);
  assert.ok(stored);
  assert.equal(stored.sessionId, chainId);
  assert.equal(stored.seq, 0);
  assert.equal(stored.prevHash, null);
  assert.equal(stored.hash, first.hash);
  assert.equal(stored.producer, config.serviceName);
  assert.equal(stored.actor, null);
  assert.deepEqual(stored.payload.heads, first.heads);
  assert.equal(stored.payload.coveredFromUs, 0);
  assert.equal(stored.payload.coveredUntilUs, first.coveredUntilUs);
  assert.deepEqual(verifyCheckpointSignature(stored.payload, stored.seq, trusted), { ok: true });
  assert.deepEqual(verifyChain([stored]), { ok: true, length: 1 });

  // b goes on while no checkpointer runs; a new one rebuilds from the log and continues the chain.
  await produce([b[2]!]);
  running = await startService();
  let second: CheckpointResult;
  let third: CheckpointResult;
  try {
    second = await postCheckpoint(running);
    assert.equal(second.seq, 1);
    assert.deepEqual(second.heads, [{ sessionId: b[0]!.sessionId, seq: 2, hash: b[2]!.hash, events: 4 }]);
    // Nothing advanced: a checkpoint all the same, with no heads.
    third = await postCheckpoint(running);
    assert.equal(third.seq, 2);
    assert.deepEqual(third.heads, []);
  } finally {
    await stopService(running);
  }

  const all = await readCheckpoints(3);
  assert.deepEqual(
    all.map((e) => [e.seq, e.hash]),
    [
      [0, first.hash],
      [1, second.hash],
      [2, third.hash],
    ],
  );
  assert.deepEqual(verifyChain(all), { ok: true, length: 3 });
  for (const [i, e] of all.entries()) {
    assert.deepEqual(verifyCheckpointSignature(e.payload, e.seq, trusted), { ok: true });
    assert.equal(e.payload.previousCheckpointHash, i === 0 ? null : all[i - 1]!.hash);
    assert.equal(e.prevHash, e.payload.previousCheckpointHash);
    assert.equal(e.payload.coveredFromUs, i === 0 ? 0 : all[i - 1]!.payload.coveredUntilUs);
  }
});
