// Measures the projector alone: N events already in Kafka (own topics, own database), then
// one in-process projector started from the beginning, timed until ClickHouse holds every row.
//   node services/projector/dist/measure-throughput.js [events=20000] [app module, to compare builds]
// Needs the stack's environment and admin credentials (see docs/benchmarks.md, projector).
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createClickHouse } from '@agentgate/clickhouse';
import { auditTopics, createEventSerde, createPolicySerde, sampleSession, topicNames } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import type { createProjector as CreateProjector } from './app.js';
import { loadConfig } from './config.js';

const total = Number(process.argv[2] ?? 20_000);
const { createProjector } = (await import(process.argv[3] ?? './app.js')) as { createProjector: typeof CreateProjector };
const id = randomUUID().slice(0, 8);
const topics = topicNames(`measure-${id}`);
const database = `agentgate_measure_${id}`;
const config = loadConfig({
  ...process.env,
  AG_TOPIC_PREFIX: `measure-${id}`,
  AG_CLICKHOUSE_DATABASE: database,
  AG_PROJECTOR_CONSUMER_GROUP: `measure-projector-${id}`,
});
const logger = pino({ level: process.env['AG_LOG_LEVEL'] ?? 'warn' });
const kafka = createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: `measure-${id}`, logger });
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

const producer = kafka.producer();
await producer.connect();
const byTopic = new Map<string, { key: string; value: Buffer }[]>();
let produced = 0;
const t0Us = Date.now() * 1000;
while (produced < total) {
  for (const event of sampleSession(randomUUID(), t0Us + produced)) {
    if (produced === total) break;
    const topic = event.eventType === 'VerdictIssued' ? topics.verdicts : topics.ingress;
    const list = byTopic.get(topic) ?? [];
    list.push({ key: event.sessionId, value: await serde.encode(topic, event) });
    byTopic.set(topic, list);
    produced++;
  }
}
for (const [topic, messages] of byTopic) {
  for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
}
await producer.disconnect();

const count = async (): Promise<number> => {
  try {
    const r = await clickhouse.query({ query: `SELECT count() AS n FROM ${database}.events`, format: 'JSONEachRow' });
    return Number((await r.json<{ n: string }>())[0]?.n ?? 0);
  } catch {
    return 0; // the projector has not created the table yet
  }
};

const projector = createProjector({
  config,
  kafka,
  serde,
  policySerde,
  topics,
  logger,
  nowMs: () => Date.now(),
  clickhouse: createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth }),
});
const started = performance.now();
const cpuBefore = process.cpuUsage();
await projector.start();
const joined = performance.now();
let n = await count();
while (n < total) {
  if (performance.now() - started > 300_000) throw new Error(`timed out with ${n} of ${total} rows`);
  await new Promise((r) => setTimeout(r, 20));
  n = await count();
}
const done = performance.now();
const cpu = process.cpuUsage(cpuBefore);
await projector.stop();
await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
await clickhouse.close();
const admin2 = kafka.admin();
await admin2.connect();
await admin2.deleteTopics({ topics: auditTopics(topics) }).catch(() => {});
await admin2.disconnect();
console.log(
  JSON.stringify({
    events: total,
    rows: n,
    startToJoinedMs: Math.round(joined - started),
    startToAllRowsMs: Math.round(done - started),
    rowsPerSecond: Math.round(total / ((done - started) / 1000)),
    rowsPerSecondAfterJoin: Math.round(total / ((done - joined) / 1000)),
    // CPU time of this process (projector and the polling) per 1,000 rows: less noisy than rows/s on a shared machine.
    cpuMsPer1000Rows: Math.round((cpu.user + cpu.system) / 1000 / (total / 1000)),
  }),
);
