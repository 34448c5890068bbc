// No raw secrets at rest: after real traffic with a planted token and the target's real
// password in play, neither appears in any Kafka topic (read from the beginning), any
// ClickHouse table of the projection, or any log of the stack. The scanner is shown to
// find a secret planted on purpose, so a pass means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { quoteIdentifier } from '@agentgate/clickhouse';
import { clickhouse, pgConfig, psql, stack, token, uniqueMarker } from '../support/stack.js';

interface Hit { where: string; secret: string }

async function scanKafka(needles: Map<string, Buffer>): Promise<Hit[]> {
  const kafka = new Kafka({ clientId: 'e2e-secret-scan', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  // Internal topics (__consumer_offsets, ...) hold group bookkeeping, never payloads.
  const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
  const targets = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(p.high) > BigInt(p.low)) targets.set(`${topic}/${p.partition}`, BigInt(p.high));
    }
  }
  await admin.disconnect();
  const hits: Hit[] = [];
  if (targets.size === 0) return hits;
  const consumer = kafka.consumer({ groupId: uniqueMarker('e2e-secret-scan'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const bytes = Buffer.concat([message.key ?? Buffer.alloc(0), message.value ?? Buffer.alloc(0)]);
        for (const [secret, needle] of needles) if (bytes.includes(needle)) hits.push({ where: `kafka ${topic}/${partition}@${message.offset}`, secret });
        const key = `${topic}/${partition}`;
        if (BigInt(message.offset) + 1n >= (targets.get(key) ?? 0n)) targets.delete(key);
        if (targets.size === 0) resolve();
      },
    });
  });
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('Kafka scan did not finish in 60 s')), 60_000))]);
  await consumer.disconnect();
  return hits;
}

async function scanClickHouse(needles: Map<string, Buffer>): Promise<Hit[]> {
  const ch = clickhouse();
  const hits: Hit[] = [];
  try {
    const r = await ch.query({ query: `SELECT name FROM system.tables WHERE database = '${stack.clickhouseDatabase}'`, format: 'JSONEachRow' });
    for (const { name } of await r.json<{ name: string }>()) {
      const rows = await ch.query({ query: `SELECT * FROM ${quoteIdentifier(stack.clickhouseDatabase)}.${quoteIdentifier(name)}`, format: 'TabSeparated' });
      // Streamed row by row: a long-lived stack holds far more than fits in one string.
      const found = new Set<string>();
      for await (const batch of rows.stream()) {
        for (const row of batch as { text: string }[]) {
          for (const [secret] of needles) if (row.text.includes(secret)) found.add(secret);
        }
      }
      for (const secret of found) hits.push({ where: `clickhouse ${name}`, secret });
    }
  } finally {
    await ch.close();
  }
  return hits;
}

function scanLogs(needles: Map<string, Buffer>): Hit[] {
  const hits: Hit[] = [];
  for (const file of readdirSync(stack.logDir)) {
    const bytes = readFileSync(join(stack.logDir, file));
    for (const [secret, needle] of needles) if (bytes.includes(needle)) hits.push({ where: `log ${file}`, secret });
  }
  return hits;
}

test('neither the target password nor a used token appears in Kafka, ClickHouse or any log', async () => {
  const planted = token('demo-agent', ['--ttl', '900']);
  const targetPassword = readFileSync(join(stack.secretsDir, 'target-password'), 'utf8').trim();
  assert.ok(targetPassword.length >= 16);

  // Real traffic with the planted token: allowed, denied, failing upstream, and a bad password.
  const app = uniqueMarker('e2e_secrets');
  for (const sql of ['select 1', 'drop table public.customers', 'select * from nowhere']) {
    await psql(['-c', sql], { applicationName: app, password: planted });
  }
  const client = new pg.Client(pgConfig({ applicationName: app, password: planted }));
  await client.connect();
  await client.query('select $1::text as v', ['parameterised']).catch(() => {});
  await client.end();
  await psql(['-c', 'select 1'], { applicationName: app, password: `${planted}x` });
  await new Promise((r) => setTimeout(r, 1500)); // let the projector catch up

  const needles = new Map([[planted, Buffer.from(planted)], [targetPassword, Buffer.from(targetPassword)]]);
  const hits = [...(await scanKafka(needles)), ...(await scanClickHouse(needles)), ...scanLogs(needles)];
  assert.deepEqual(hits.map((h) => `${h.where}: ${h.secret === planted ? 'token' : 'target password'}`), []);

  // The scan can fail: plant the token into a log on purpose and it is found.
  const decoy = join(stack.logDir, `${uniqueMarker('planted')}.log`);
  writeFileSync(decoy, `{"level":30,"msg":"oops","authorization":"Bearer ${planted}"}\n`);
  try {
    const found = scanLogs(needles);
    assert.ok(found.some((h) => h.where.endsWith(decoy.split('/').pop()!) && h.secret === planted), 'a planted token must be found');
  } finally {
    rmSync(decoy);
  }
});
