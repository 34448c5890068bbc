// Nothing raw at rest in the audit log: a session through the gateway carries a card number, an
// e-mail, an SSN (bound parameter and result), an AWS key id (result only), a value echoed in an
// error message and a role password. The agent gets every real value back; the session's events
// in Kafka (ingress and verdict topics, read from the beginning) and in ClickHouse hold none of
// them, and hold the markers in their place, so the check sees the fields it reads.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { createEventSerde, topicNames } from '@agentgate/events';
import { eventKindCounts, sessionIdFor } from '../support/audit.js';
import { quietKafka, readRange } from '../support/kafka-range.js';
import { clickhouse, countsReaching, eventually, kafkaAs, pgConfig, stack, token, uniqueMarker } from '../support/stack.js';

const CARD = '4111111111111111';
const EMAIL = 'jane.roe@example.com';
const SSN = '078-05-1120';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
// Only in an error message: the statement builds it, the server echoes it.
const ECHOED_SSN = '219-09-9999';
const PASSWORD = 'Hunter2-xyzzy-9';
const RAW = [CARD, EMAIL, SSN, AWS_KEY, ECHOED_SSN, PASSWORD];
const MARKERS = ['[REDACTED:card]', '[REDACTED:email]', '[REDACTED:us-ssn]', '[REDACTED:aws-access-key-id]', '[REDACTED:password]'];

const ch = clickhouse();
after(() => ch.close());

test('card, e-mail, SSN, AWS key, echoed value and role password reach the agent but not the audit log', async () => {
  const app = uniqueMarker('e2e_redaction');
  // dba-agent on scratch: policy masks nothing there (agents on demo get masked results, see
  // masking.test.ts), so what the agent gets shows that only the audit log is redacted.
  const client = new pg.Client(pgConfig({ applicationName: app, user: 'dba-agent', database: 'scratch', password: token('dba-agent') }));
  client.on('error', () => {});
  await client.connect();
  try {
    // Simple protocol, literals in the text and the values in the result.
    const simple = await client.query(`SELECT '${CARD}' AS c, '${EMAIL}' AS e`);
    assert.deepEqual(simple.rows, [{ c: CARD, e: EMAIL }]);
    // Extended protocol: a bound parameter returned in the result.
    const bound = await client.query('SELECT $1::text AS s', [SSN]);
    assert.deepEqual(bound.rows, [{ s: SSN }]);
    // The key is in the result only (the text holds two halves no detector finds).
    const key = await client.query(`SELECT 'AKIA' || 'IOSFODNN7EXAMPLE' AS k`);
    assert.deepEqual(key.rows, [{ k: AWS_KEY }]);
    // invalid input syntax for type integer: "219-09-9999"
    await assert.rejects(client.query(`SELECT ('219-09-' || '9999')::int`), (err: Error & { code?: string }) => {
      assert.equal(err.code, '22P02');
      assert.ok(err.message.includes(ECHOED_SSN), 'the agent gets the server message as it is');
      return true;
    });
    // Its request is recorded before the decision. The role does not exist, so whether policy
    // refuses it or the target does (42704), nothing changes.
    await assert.rejects(client.query(`ALTER ROLE e2e_no_such_role PASSWORD '${PASSWORD}'`), (err: Error & { code?: string }) => {
      assert.ok(err.code === '42704' || /refused by policy/.test(err.message), `${err.code} ${err.message}`);
      return true;
    });
  } finally {
    await client.end();
  }

  // ClickHouse: wait for every event of the session, each kind counted for itself.
  const db = stack.clickhouseDatabase;
  const sessionId = await eventually(() => sessionIdFor(ch, db, app), 10_000, 100);
  const expected = { opened: 1, requests: 5, verdicts: 5, responses: 5, closed: 1 };
  const counts = await countsReaching(
    () => eventKindCounts(ch, quoteIdentifier(db), `session_id = ${quoteString(sessionId)}`),
    expected,
    15_000,
  );
  assert.deepEqual(counts, expected);
  // Every column of every row of the session, duplicates included (the events table keeps every row it is given).
  const rows = await ch.query({
    query: `SELECT * FROM ${quoteIdentifier(db)}.events WHERE session_id = ${quoteString(sessionId)}`,
    format: 'JSONEachRow',
  });
  const inClickHouse = JSON.stringify(await rows.json());

  // Kafka: the session's events on the ingress and verdict topics, from the start of the log.
  const topics = topicNames();
  const kafka = quietKafka({ clientId: 'e2e-audit-redaction', ...kafkaAs() });
  const admin = kafka.admin();
  await admin.connect();
  let inKafka: string;
  try {
    const serde = await createEventSerde({ registryUrl: stack.registryUrl, topics: [topics.ingress, topics.verdicts] });
    const to: Record<string, Record<number, bigint>> = {};
    for (const topic of [topics.ingress, topics.verdicts]) {
      to[topic] = {};
      for (const p of await admin.fetchTopicOffsets(topic)) to[topic][p.partition] = BigInt(p.high);
    }
    const events = await readRange({ kafka, serde, from: {}, to, keep: (k) => k === sessionId, timeoutMs: 120_000 });
    const types = events.map((e) => e.eventType);
    assert.equal(types.filter((t) => t === 'RequestObserved').length, 5, `events read from Kafka: ${types.join(', ')}`);
    assert.equal(types.filter((t) => t === 'ResponseObserved').length, 5);
    inKafka = JSON.stringify(events, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } finally {
    await admin.disconnect();
  }

  for (const [store, text] of [
    ['kafka', inKafka],
    ['clickhouse', inClickHouse],
  ] as const) {
    assert.deepEqual(
      RAW.filter((v) => text.includes(v)),
      [],
      `raw values at rest in ${store}`,
    );
    assert.deepEqual(
      MARKERS.filter((m) => !text.includes(m)),
      [],
      `markers missing in ${store}`,
    );
  }
});
