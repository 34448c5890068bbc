// The projection's layouts against the real ClickHouse (Debian's 18.16 in the local stack):
// a fresh database gets subject and actor; a database with the old actor_subject column is
// migrated in place, its rows backfilled, and a rerun changes nothing. Own random databases.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClickHouse } from '@agentgate/clickhouse';
import { loadConfig } from './config.js';
import { ensureProjection } from './ddl.js';

const id = randomUUID().slice(0, 8);
const config = loadConfig(process.env);
const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth });
const databases: string[] = [];

function newDatabase(kind: string): string {
  const name = `agentgate_it_ddl_${kind}_${id}`;
  databases.push(name);
  return name;
}

async function columns(database: string): Promise<string[]> {
  const r = await clickhouse.query({
    query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = 'events'`,
    format: 'JSONEachRow',
  });
  return (await r.json<{ name: string }>()).map((c) => c.name);
}

async function people(database: string): Promise<{ event_id: string; subject: string; actor: string; actor_chain: string[] }[]> {
  const r = await clickhouse.query({
    query: `SELECT event_id, subject, actor, actor_chain FROM ${database}.events FINAL ORDER BY event_id`,
    format: 'JSONEachRow',
  });
  return r.json();
}

after(async () => {
  for (const database of databases) await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await clickhouse.close();
});

test('a fresh database gets subject and actor, and no actor_subject', async () => {
  const database = newDatabase('fresh');
  const migration = await ensureProjection(clickhouse, database);
  assert.deepEqual(migration, { add: [], backfill: undefined, drop: [] });
  const names = await columns(database);
  assert.ok(names.includes('subject') && names.includes('actor') && names.includes('actor_chain'));
  assert.ok(!names.includes('actor_subject'));
});

test('a layout-1 database is migrated in place: old rows get subject and actor, actor_subject is dropped', async () => {
  const database = newDatabase('layout1');
  // The events table as layout 1 created it (the columns that matter here, same engine and key).
  await clickhouse.command({ query: `CREATE DATABASE ${database}` });
  await clickhouse.command({
    query: `CREATE TABLE ${database}.events (
      event_id String, event_type String, session_id String, seq UInt64, time_us UInt64, event_date Date,
      producer String, prev_hash String, hash String, hash_valid UInt8,
      actor_subject String, actor_issuer String, actor_groups Array(String), actor_chain Array(String),
      token_id String, kafka_topic String, kafka_partition UInt32, kafka_offset UInt64, projected_at DateTime
    ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(event_date) ORDER BY (session_id, seq, event_id)`,
  });
  // Two inserts: two parts, in two partitions, so the backfill has more than one part to rewrite.
  await clickhouse.insert({
    table: `${database}.events`,
    format: 'JSONEachRow',
    values: [
      { event_id: 'e1', session_id: 's1', seq: 1, event_date: '2025-01-01', actor_subject: 'demo-agent', actor_chain: [] },
      { event_id: 'e2', session_id: 's2', seq: 1, event_date: '2025-01-01', actor_subject: 'dave', actor_chain: ['dave', 'demo-agent'] },
    ],
  });
  await clickhouse.insert({
    table: `${database}.events`,
    format: 'JSONEachRow',
    values: [
      {
        event_id: 'e3',
        session_id: 's3',
        seq: 1,
        event_date: '2025-02-01',
        actor_subject: 'alice',
        actor_chain: ['alice', 'planner', 'dba-agent'],
      },
      { event_id: 'e4', session_id: 's4', seq: 1, event_date: '2025-02-01', actor_subject: '', actor_chain: [] },
    ],
  });

  const migration = await ensureProjection(clickhouse, database, { pollMs: 50 });
  // subject, actor, and shadow (layout 3; its default 0 is every old verdict's value).
  assert.equal(migration.add.length, 3);
  assert.ok(migration.backfill);
  const names = await columns(database);
  assert.ok(!names.includes('actor_subject'), names.join(','));
  assert.ok(names.includes('subject') && names.includes('actor') && names.includes('shadow'));
  assert.deepEqual(await people(database), [
    { event_id: 'e1', subject: 'demo-agent', actor: 'demo-agent', actor_chain: [] },
    { event_id: 'e2', subject: 'dave', actor: 'demo-agent', actor_chain: ['dave', 'demo-agent'] },
    { event_id: 'e3', subject: 'alice', actor: 'dba-agent', actor_chain: ['alice', 'planner', 'dba-agent'] },
    { event_id: 'e4', subject: '', actor: '', actor_chain: [] },
  ]);

  // A rerun (every projector start) finds the current layout and changes nothing.
  assert.deepEqual(await ensureProjection(clickhouse, database), { add: [], backfill: undefined, drop: [] });
  // And the rows the projector writes now fit the table.
  await clickhouse.insert({
    table: `${database}.events`,
    format: 'JSONEachRow',
    values: [
      {
        event_id: 'e5',
        session_id: 's5',
        seq: 1,
        event_date: '2025-02-01',
        subject: 'bob',
        actor: 'report-agent',
        actor_chain: ['bob', 'report-agent'],
      },
    ],
  });
  assert.equal((await people(database)).length, 5);
});
