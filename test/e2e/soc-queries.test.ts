// docs/soc-queries.md, run as the SOC runs it: every query of the document as ClickHouse's
// read-only `reader`, against the events the suite before this file wrote (the e2e files run
// in name order: approvals, delegation, masking and the denials of earlier files come first).
// A query that ClickHouse 18.16 (or current ClickHouse) cannot run, or one that should find
// rows and finds none, fails here.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouse } from '@agentgate/clickhouse';
import { ROOT, clickhouse, stack, stackSecret } from '../support/stack.js';

const reader = createClickHouse({
  url: stack.clickhouseUrl,
  database: stack.clickhouseDatabase,
  username: 'reader',
  password: stackSecret('clickhouse-reader.password'),
});
after(async () => {
  await reader.close();
});

/** The document's queries: each `### name` followed by one ```sql block. */
const QUERIES = [...readFileSync(join(ROOT, 'docs/soc-queries.md'), 'utf8').matchAll(/### (.+?)\n\n```sql\n([\s\S]*?)```/g)].map(
  ([, name, sql]) => ({ name: name!, sql: sql!.trim() }),
);

// Queries the suite before this file always gives rows to.
const NON_EMPTY = new Set([
  'Denied statements by agent',
  'The latest denials with their statements',
  'What masking hid, by column rule and detector',
  'Approvals by approver',
  'Approval requests and how they ended',
  'Sessions by delegation chain',
  'The slowest statements',
  'Requests with their verdict, approval and outcome (requests view)',
  'Masking exposure by agent and connection (masking_exposure view)',
]);

test('the document holds at least 12 queries, and each named as non-empty here is in it', () => {
  assert.ok(QUERIES.length >= 12, `${QUERIES.length} queries`);
  const names = new Set(QUERIES.map((q) => q.name));
  for (const name of NON_EMPTY) assert.ok(names.has(name), name);
});

for (const { name, sql } of QUERIES) {
  test(`SOC query runs as reader: ${name}`, async () => {
    const result = await reader.query({ query: sql, format: 'JSONEachRow' });
    const rows = await result.json<Record<string, unknown>>();
    if (NON_EMPTY.has(name)) assert.ok(rows.length > 0, `${name}: no rows`);
  });
}

/**
 * ClickHouse's error code of a refused statement ('164' READONLY, '291' DATABASE_ACCESS_DENIED):
 * the client's parsed code, or (18.16's error format, which the client does not parse) the
 * message's leading `Code: N`.
 */
async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    const { code, message } = err as { code?: unknown; message?: string };
    return String(code ?? /^Code: (\d+)/.exec(message ?? '')?.[1]);
  }
  return 'accepted';
}

test('the reader cannot insert, create, alter or drop: readonly', async () => {
  const READONLY = '164';
  assert.equal(await refusal(() => reader.command({ query: 'CREATE TABLE agentgate.soc_probe (a UInt8) ENGINE = Memory' })), READONLY);
  assert.equal(await refusal(() => reader.command({ query: "INSERT INTO agentgate.events (event_id) VALUES ('soc-probe')" })), READONLY);
  assert.equal(
    await refusal(() => reader.command({ query: "ALTER TABLE agentgate.events DELETE WHERE event_id = 'soc-probe'" })),
    READONLY,
  );
  assert.equal(await refusal(() => reader.command({ query: 'DROP TABLE agentgate.events' })), READONLY);
  // readonly=2, not 1: a query may still bound itself.
  const result = await reader.query({
    query: 'SELECT count() AS n FROM agentgate.events SETTINGS max_execution_time = 30',
    format: 'JSONEachRow',
  });
  assert.equal((await result.json()).length, 1);
});

test('the reader cannot read another database', async () => {
  const admin = clickhouse('default');
  const database = `soc_probe_${process.pid}`;
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await admin.command({ query: `CREATE TABLE IF NOT EXISTS ${database}.secrets (a String) ENGINE = Memory` });
    assert.equal(await refusal(() => reader.query({ query: `SELECT * FROM ${database}.secrets`, format: 'JSONEachRow' })), '291');
  } finally {
    await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await admin.close();
  }
});
