// No raw secrets at rest: after real traffic with a planted token and the target's real
// password in play, neither appears in any Kafka topic (read from the beginning), any
// ClickHouse table of the projection, or any log of the stack, as text or base64 (the
// projector keeps undecodable messages as base64). In the same scan a decoy holding the
// token is planted in each of the three, and each must be found, so a pass means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { clickhouse, countsReaching, kafkaAs, pgConfig, psql, stack, token, uniqueMarker } from '../support/stack.js';
import { eventKindCounts } from '../support/audit.js';

interface Needle {
  secret: string;
  text: string;
  bytes: Buffer;
}
interface Hit {
  where: string;
  secret: string;
}

/**
 * The forms a secret is searched in: as text, and as base64 at each of the three byte
 * alignments it can have inside a longer encoded value (the characters that also depend on
 * the neighbouring bytes are left out).
 */
function needlesFor(secret: string, value: string): Needle[] {
  const raw = Buffer.from(value);
  const forms: Needle[] = [{ secret, text: value, bytes: raw }];
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64');
    const text = encoded.slice([0, 2, 3][shift], -4);
    forms.push({ secret, text, bytes: Buffer.from(text) });
  }
  return forms;
}

async function scanKafka(needles: readonly Needle[]): Promise<Hit[]> {
  const kafka = new Kafka({ clientId: 'e2e-secret-scan', ...kafkaAs(), logLevel: logLevel.NOTHING });
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
        const found = new Set(needles.filter((n) => bytes.includes(n.bytes)).map((n) => n.secret));
        for (const secret of found) hits.push({ where: `kafka ${topic}/${partition}@${message.offset}`, secret });
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

async function scanClickHouse(needles: readonly Needle[]): Promise<Hit[]> {
  const ch = clickhouse();
  const hits: Hit[] = [];
  try {
    const r = await ch.query({
      query: `SELECT name FROM system.tables WHERE database = '${stack.clickhouseDatabase}'`,
      format: 'JSONEachRow',
    });
    for (const { name } of await r.json<{ name: string }>()) {
      const rows = await ch.query({
        query: `SELECT * FROM ${quoteIdentifier(stack.clickhouseDatabase)}.${quoteIdentifier(name)}`,
        format: 'TabSeparated',
      });
      // Streamed row by row: a long-lived stack holds far more than fits in one string.
      const found = new Set<string>();
      for await (const batch of rows.stream()) {
        for (const row of batch as { text: string }[]) {
          for (const n of needles) if (row.text.includes(n.text)) found.add(n.secret);
        }
      }
      for (const secret of found) hits.push({ where: `clickhouse ${name}`, secret });
    }
  } finally {
    await ch.close();
  }
  return hits;
}

function scanLogs(needles: readonly Needle[]): Hit[] {
  const hits: Hit[] = [];
  for (const file of readdirSync(stack.logDir)) {
    const bytes = readFileSync(join(stack.logDir, file));
    const found = new Set(needles.filter((n) => bytes.includes(n.bytes)).map((n) => n.secret));
    for (const secret of found) hits.push({ where: `log ${file}`, secret });
  }
  return hits;
}

/** A decoy holding `secret` in each store, where the scans must find it; `remove` takes them away. */
async function plantDecoys(secret: string): Promise<{ wheres: string[]; remove: () => Promise<void> }> {
  const marker = uniqueMarker('planted');
  const topic = `e2e-${marker}`;
  const table = `e2e_${marker}`;
  const file = `${marker}.log`;
  const kafka = new Kafka({ clientId: 'e2e-secret-decoy', ...kafkaAs(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ value: `{"msg":"oops","authorization":"Bearer ${secret}"}` }] });
  await producer.disconnect();
  const ch = clickhouse();
  const db = quoteIdentifier(stack.clickhouseDatabase);
  // Base64 with a one-byte prefix, as a rejected message's raw bytes would hold it.
  await ch.command({ query: `CREATE TABLE ${db}.${quoteIdentifier(table)} (raw_base64 String) ENGINE = Memory` });
  await ch.command({
    query: `INSERT INTO ${db}.${quoteIdentifier(table)} VALUES (${quoteString(Buffer.from(`\u0000${secret}`).toString('base64'))})`,
  });
  writeFileSync(join(stack.logDir, file), `{"level":30,"msg":"oops","authorization":"Bearer ${secret}"}\n`);
  return {
    wheres: [`kafka ${topic}/0@0`, `clickhouse ${table}`, `log ${file}`],
    async remove() {
      rmSync(join(stack.logDir, file), { force: true });
      await ch.command({ query: `DROP TABLE IF EXISTS ${db}.${quoteIdentifier(table)}` }).finally(() => ch.close());
      await admin.deleteTopics({ topics: [topic] }).finally(() => admin.disconnect());
    },
  };
}

test('neither a target password nor a used token appears in Kafka, ClickHouse or any log', async () => {
  const planted = token('demo-agent', ['--ttl', '900']);
  // One per target role the gateway logs in as (deploy/local/postgres/roles.sql).
  const targetPasswords = ['target-demo-rw-password', 'target-demo-ro-password', 'target-scratch-password'].map((file) =>
    readFileSync(join(stack.secretsDir, file), 'utf8').trim(),
  );
  assert.ok(targetPasswords.every((p) => p.length >= 16));

  // Real traffic with the planted token: allowed, denied, failing upstream, and a bad password.
  // Each must have taken its path, or the token never went where it could leak.
  const app = uniqueMarker('e2e_secrets');
  const allowed = await psql(['-tA', '-c', 'select 1'], { applicationName: app, password: planted });
  assert.equal(allowed.stdout.trim(), '1', allowed.stderr);
  assert.match((await psql(['-c', 'drop table public.customers'], { applicationName: app, password: planted })).stderr, /42501/);
  assert.match((await psql(['-c', 'select * from nowhere'], { applicationName: app, password: planted })).stderr, /42P01/);
  const client = new pg.Client(pgConfig({ applicationName: app, password: planted }));
  await client.connect();
  assert.equal((await client.query('select $1::text as v', ['parameterised'])).rows[0].v, 'parameterised');
  await client.end();
  assert.match(
    (await psql(['-c', 'select 1'], { applicationName: app, password: `${planted}x` })).stderr,
    /code=AG_ERR_TOKEN_SIGNATURE_INVALID/,
  );

  // Wait for what the ClickHouse scan reads: every event of the four sessions, each kind
  // counted for itself (verdicts come from another topic than the rest).
  const ch = clickhouse();
  const db = stack.clickhouseDatabase;
  const expected = { opened: 4, requests: 4, verdicts: 4, responses: 4, closed: 4 };
  const counts = await countsReaching(
    () =>
      eventKindCounts(
        ch,
        db,
        `session_id IN (SELECT session_id FROM ${db}.events WHERE event_type = 'SessionOpened' AND payload_json LIKE ${quoteString(`%"clientApplication":"${app}"%`)})`,
      ),
    expected,
    10_000,
  ).finally(() => ch.close());
  assert.deepEqual(counts, expected);

  const needles = [...needlesFor('token', planted), ...targetPasswords.flatMap((p) => needlesFor('target password', p))];
  const decoys = await plantDecoys(planted);
  let hits: string[];
  try {
    hits = [...(await scanKafka(needles)), ...(await scanClickHouse(needles)), ...scanLogs(needles)].map((h) => `${h.where}: ${h.secret}`);
  } finally {
    await decoys.remove();
  }
  // The scan can fail: it finds the token planted on purpose in each store...
  assert.deepEqual(
    decoys.wheres.filter((w) => !hits.includes(`${w}: token`)),
    [],
    'decoys the scan missed',
  );
  // ...and nothing else.
  assert.deepEqual(
    hits.filter((h) => !decoys.wheres.some((w) => h === `${w}: token`)),
    [],
  );
});
