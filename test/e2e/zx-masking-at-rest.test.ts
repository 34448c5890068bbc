// Nothing raw at rest (issue 13, acceptance 1), run late in the suite (zx): demo-agent reads
// the customers the demo policy masks, gets a unique violation echoing an e-mail, and a NOTIFY
// payload carrying a card; it sees only masked forms. Then every Kafka topic read from the
// beginning, every table of ClickHouse's agentgate database and every service log are searched
// for the raw values: none may hold one. The searches are proved able to fail on canaries
// planted in a topic, a table and a log file of the test's own, through the same functions.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ClickHouseClient } from '@clickhouse/client';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { quietKafka } from '../support/kafka-range.js';
import { clickhouse, kafkaAs, pgConfig, psql, stack, uniqueMarker } from '../support/stack.js';

// The well-known values of the demo data (deploy/local/postgres/seed-demo-notes.sql).
const RAW = [
  '4111111111111111',
  '4111 1111 1111 1111',
  'DE89370400440532013000',
  '078-05-1120',
  'jane.roe@example.com',
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'MIICWwIBAAKBgQDHo2dNIO07KP9JlEedRX2pb',
];
const CARD_IN_NOTIFY = '5500000000000004';
const ALL_RAW = [...RAW, CARD_IN_NOTIFY];

interface Finding {
  where: string;
  value: string;
}

const ch = clickhouse();
after(() => ch.close());

function findIn(where: string, bytes: Buffer | string, out: Finding[]): void {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  for (const value of ALL_RAW) if (buf.includes(value)) out.push({ where, value });
}

/** Every message of every topic (but Kafka's own), from the beginning to the current end. */
async function searchKafka(onlyTopics?: readonly string[]): Promise<Finding[]> {
  const kafka = quietKafka({ clientId: 'e2e-at-rest', ...kafkaAs() });
  const admin = kafka.admin();
  await admin.connect();
  const findings: Finding[] = [];
  try {
    const topics = (onlyTopics ?? (await admin.listTopics())).filter((t) => !t.startsWith('__'));
    const remaining = new Map<string, bigint>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}|${p.partition}`, BigInt(p.high));
      }
    }
    if (remaining.size === 0) return findings;
    const consumer = kafka.consumer({ groupId: uniqueMarker('e2e-at-rest'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({
        topics: topics.filter((t) => [...remaining.keys()].some((k) => k.startsWith(`${t}|`))),
        fromBeginning: true,
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Kafka not read to its end in time: ${[...remaining.keys()].join(', ')}`)),
          180_000,
        );
        void consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              if (m.value) findIn(`kafka ${batch.topic}/${batch.partition}@${m.offset}`, m.value, findings);
              if (m.key) findIn(`kafka key ${batch.topic}/${batch.partition}@${m.offset}`, m.key, findings);
            }
            const key = `${batch.topic}|${batch.partition}`;
            const end = remaining.get(key);
            if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(key);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await admin.disconnect();
  }
  return findings;
}

/**
 * Every text column (String, Nullable, LowCardinality, FixedString, arrays of them) of every
 * table of `database`, searched by ClickHouse itself: the tables are too large to fetch.
 */
async function searchClickHouse(client: ClickHouseClient, database: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const columns = await (
    await client.query({
      query: `SELECT c.table AS table, c.name AS name, c.type AS type FROM system.columns AS c WHERE c.database = ${quoteString(database)}`,
      format: 'JSONEachRow',
    })
  ).json<{ table: string; name: string; type: string }>();
  const byTable = new Map<string, string[]>();
  for (const c of columns) {
    const col = quoteIdentifier(c.name);
    let text: string | undefined;
    if (/^(Nullable\()?(LowCardinality\()?(String|FixedString\(\d+\))\)*$/.test(c.type)) text = `ifNull(toString(${col}), '')`;
    else if (/^Array\((Nullable\()?(LowCardinality\()?String\)*$/.test(c.type))
      text = `arrayStringConcat(arrayMap(x -> ifNull(toString(x), ''), ${col}), '\\t')`;
    if (text === undefined) continue;
    byTable.set(c.table, [...(byTable.get(c.table) ?? []), text]);
  }
  for (const [table, texts] of byTable) {
    const counts = ALL_RAW.map((v, i) => `countIf(${texts.map((t) => `position(${t}, ${quoteString(v)}) > 0`).join(' OR ')}) AS n${i}`);
    const [row] = await (
      await client.query({
        query: `SELECT ${counts.join(', ')} FROM ${quoteIdentifier(database)}.${quoteIdentifier(table)}`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, string>>();
    ALL_RAW.forEach((value, i) => {
      if (Number(row?.[`n${i}`] ?? 0) > 0) findings.push({ where: `clickhouse ${database}.${table} (${row?.[`n${i}`]} rows)`, value });
    });
  }
  return findings;
}

/**
 * Every file under `dir` but the target PostgreSQL's own logs: the target logs the statements
 * and errors it runs, as a production database does, and that log is the target's, not the
 * gateway's.
 */
function searchLogs(dir: string): Finding[] {
  const findings: Finding[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.startsWith('postgres')) findIn(`log ${path}`, readFileSync(path), findings);
    }
  };
  walk(dir);
  return findings;
}

test('an agent sees masked forms only: rows, COPY, an error echoing a value, a NOTIFY payload', async () => {
  const c = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_at_rest') }));
  c.on('error', () => {});
  await c.connect();
  try {
    const seen: string[] = [];
    const rows = await c.query('SELECT * FROM public.customers WHERE id IN (5001, 11, 22, 33, 44, 55, 66, 77, 88) ORDER BY id');
    seen.push(JSON.stringify(rows.rows));
    await assert.rejects(
      c.query(
        "INSERT INTO public.customers (id, name, email, phone, card_number, ssn, iban) VALUES (999999, 'Dup', 'jane.roe@example.com', '+1', '4111111111111111', '078-05-1120', 'DE89370400440532013000')",
      ),
      (err: Error & { code?: string; detail?: string }) => {
        assert.equal(err.code, '23505');
        assert.match(err.detail ?? '', /^Key \(email\)=\(tok_[0-9a-f]+@d[0-9a-f]+\.invalid\) already exists\.$/);
        seen.push(err.message, err.detail ?? '');
        return true;
      },
    );
    const notified = new Promise<string>((resolve) => c.on('notification', (n) => resolve(n.payload ?? '')));
    await c.query('LISTEN e2e_at_rest');
    await c.query(`NOTIFY e2e_at_rest, 'paid with ${CARD_IN_NOTIFY}'`);
    const payload = await notified;
    assert.equal(payload, 'paid with [REDACTED:card]');
    seen.push(payload);
    const copy = await psql(['-c', 'COPY (SELECT * FROM public.customers WHERE id IN (5001, 11, 88)) TO STDOUT'], {
      applicationName: uniqueMarker('e2e_at_rest_copy'),
    });
    assert.equal(copy.status, 0, copy.stderr);
    seen.push(copy.stdout);
    const leaked: Finding[] = [];
    for (const s of seen) findIn('agent', s, leaked);
    assert.deepEqual(leaked, []);
  } finally {
    await c.end();
  }
});

test('the searches find a planted raw value in a topic, a table and a log file of their own', async () => {
  const topic = uniqueMarker('agentgate-e2e-canary');
  const kafka = quietKafka({ clientId: 'e2e-at-rest-canary', ...kafkaAs() });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await producer.send({ topic, acks: -1, messages: [{ value: `canary ${RAW[0]}` }] });
    assert.deepEqual(
      (await searchKafka([topic])).map((f) => f.value),
      [RAW[0]],
    );
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await producer.disconnect();
    await admin.disconnect();
  }
  const db = uniqueMarker('e2e_canary');
  await ch.command({ query: `CREATE DATABASE ${quoteIdentifier(db)}` });
  try {
    await ch.command({ query: `CREATE TABLE ${quoteIdentifier(db)}.t (v String) ENGINE = Memory` });
    // In the body, not the query text: ClickHouse logs query texts, and this log is searched too.
    await ch.insert({ table: `${quoteIdentifier(db)}.t`, values: [{ v: `x ${RAW[4]} y` }], format: 'JSONEachRow' });
    assert.deepEqual(
      (await searchClickHouse(ch, db)).map((f) => f.value),
      [RAW[4]],
    );
  } finally {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(db)}` });
  }
  const dir = mkdtempSync(join(tmpdir(), 'e2e-canary-'));
  try {
    writeFileSync(join(dir, 'svc.log'), `{"msg":"oops ${RAW[5]}"}\n`);
    assert.deepEqual(
      searchLogs(dir).map((f) => f.value),
      [RAW[5]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after the suite, no raw value is in any Kafka topic, any ClickHouse table or any service log', async () => {
  const findings = [...(await searchKafka()), ...(await searchClickHouse(ch, stack.clickhouseDatabase)), ...searchLogs(stack.logDir)];
  assert.deepEqual(findings.slice(0, 20), [], `${findings.length} raw values at rest`);
});
