// Measures the projection lag under a steady load: an in-process projector on its own topics and
// database, events produced at `rate`/s for `seconds`, and every 50 ms the largest
// agentgate_projector_lag_seconds (age of the oldest event read and not yet in ClickHouse)
// sampled from its metrics. Event times are the planned send times, so the lag includes Kafka.
//   node services/projector/dist/measure-lag.js [rate=3000] [seconds=20]
// Needs the stack's environment and admin credentials (see docs/benchmarks.md, projector).
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createClickHouse } from '@agentgate/clickhouse';
import { auditTopics, createEventSerde, createPolicySerde, sampleSession, topicNames } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import { createProjector } from './app.js';
import { loadConfig } from './config.js';

const rate = Number(process.argv[2] ?? 3000);
const seconds = Number(process.argv[3] ?? 20);
const total = rate * seconds;
const id = randomUUID().slice(0, 8);
const topics = topicNames(`measure-lag-${id}`);
const database = `agentgate_measure_lag_${id}`;
const config = loadConfig({
  ...process.env,
  AG_TOPIC_PREFIX: `measure-lag-${id}`,
  AG_CLICKHOUSE_DATABASE: database,
  AG_PROJECTOR_CONSUMER_GROUP: `measure-lag-${id}`,
});
const logger = pino({ level: process.env['AG_LOG_LEVEL'] ?? 'warn' });
const kafka = createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: `measure-lag-${id}`, logger });
const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth });
const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: auditTopics(topics) });
const policySerde = await createPolicySerde({ registryUrl: config.registryUrl, topic: topics.policies });
const admin = kafka.admin();
await admin.connect();
await ensureTopics(
  admin,
  auditTopics(topics).map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
);
await admin.disconnect();

const projector = createProjector({ config, kafka, serde, policySerde, topics, logger, nowMs: () => Date.now(), clickhouse });
await projector.start();

// Encoded up front (encoding would compete with the projector for the event loop), with the
// time each event is planned to be sent.
const startMs = Date.now() + 2000 + total / 4;
const planned: { atMs: number; topic: string; key: string; value: Buffer }[] = [];
while (planned.length < total) {
  for (const event of sampleSession(randomUUID(), Math.round((startMs + (planned.length * 1000) / rate) * 1000))) {
    if (planned.length === total) break;
    const topic = event.eventType === 'VerdictIssued' ? topics.verdicts : topics.ingress;
    planned.push({ atMs: event.timeUs / 1000, topic, key: event.sessionId, value: await serde.encode(topic, event) });
  }
}
if (Date.now() > startMs) throw new Error('encoding took longer than planned; lower the rate or the duration');
await new Promise((r) => setTimeout(r, startMs - Date.now()));

const producer = kafka.producer();
await producer.connect();
const samples: number[] = [];
const maxLag = (): number => {
  let max = 0;
  for (const m of projector.metrics().matchAll(/^agentgate_projector_lag_seconds\{[^}]*\} (\S+)$/gm)) max = Math.max(max, Number(m[1]));
  return max;
};
const sampler = setInterval(() => samples.push(maxLag()), 50);
let sent = 0;
while (sent < total) {
  const due = planned.slice(sent).findIndex((p) => p.atMs > Date.now());
  const upTo = due === -1 ? total : sent + due;
  const batch = planned.slice(sent, upTo);
  sent = upTo;
  const byTopic = new Map<string, { key: string; value: Buffer }[]>();
  for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { key: p.key, value: p.value }]);
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  await new Promise((r) => setTimeout(r, 20));
}
const producedMs = Date.now() - startMs;
const count = async (): Promise<number> => {
  const r = await clickhouse.query({ query: `SELECT count() AS n FROM ${database}.events`, format: 'JSONEachRow' });
  return Number((await r.json<{ n: string }>())[0]?.n ?? 0);
};
const deadline = Date.now() + 120_000;
while ((await count()) < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
clearInterval(sampler);
const rows = await count();
await producer.disconnect();
await projector.stop();
const ch = createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth });
await ch.command({ query: `DROP DATABASE IF EXISTS ${database}` });
await ch.close();
const a = kafka.admin();
await a.connect();
await a.deleteTopics({ topics: auditTopics(topics) }).catch(() => {});
await a.disconnect();
const sorted = [...samples].sort((x, y) => x - y);
const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
console.log(
  JSON.stringify({
    rate,
    seconds,
    events: total,
    rows,
    producedInMs: producedMs,
    samples: samples.length,
    lagP50Ms: Math.round(at(0.5) * 1000),
    lagP99Ms: Math.round(at(0.99) * 1000),
    lagMaxMs: Math.round((sorted[sorted.length - 1] ?? 0) * 1000),
  }),
);
