// Migrations and projections against the real ClickHouse (Debian's 18.16 in the local stack),
// each test in its own random database: a fresh database ends at the last version; a database
// with the old ReplacingMergeTree events table and rows keeps one row per event; a rerun applies
// nothing; a crash before a version is recorded does not double the projections; the projection
// views answer from the events inserted after the migration and before it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClickHouse } from '@agentgate/clickhouse';
import { eventRow } from '@agentgate/audit-store';
import { checkProjections, readProjections, type StoredEventRow } from '@agentgate/audit-verify';
import { canonicalEventText, sampleSession } from '@agentgate/events';
import { loadConfig } from './config.js';
import { ensureProjection } from './ddl.js';
import { MIGRATIONS, migrate } from './migrations.js';

const id = randomUUID().slice(0, 8);
const config = loadConfig(process.env);
const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: 'default', ...config.clickhouseAuth });
const databases: string[] = [];
const lastVersion = Math.max(...MIGRATIONS.map((m) => m.version));

function newDatabase(kind: string): string {
  const name = `agentgate_it_mig_${kind}_${id}`;
  databases.push(name);
  return name;
}

async function query<T>(sql: string): Promise<T[]> {
  const r = await clickhouse.query({ query: sql, format: 'JSONEachRow' });
  return r.json<T>();
}

/** The rows of the sample session (opened, request, verdict, response, closed). */
function sampleRows(sessionId: string): Record<string, unknown>[] {
  return sampleSession().map((e, i) => {
    const event = { ...e, sessionId };
    return eventRow({ event, canonicalText: canonicalEventText(event) }, { topic: 't', partition: 0, offset: String(i) }, 0);
  });
}

after(async () => {
  for (const database of databases) await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await clickhouse.close();
});

test('a fresh database ends at the last version with a history-keeping events table, and a rerun applies nothing', async () => {
  const database = newDatabase('fresh');
  assert.deepEqual(
    await migrate(clickhouse, database),
    MIGRATIONS.map((m) => m.version),
  );
  const [engine] = await query<{ engine: string }>(`SELECT engine FROM system.tables WHERE database = '${database}' AND name = 'events'`);
  assert.equal(engine?.engine, 'MergeTree');
  assert.deepEqual(await migrate(clickhouse, database), []);
  const [recorded] = await query<{ v: number }>(`SELECT max(version) AS v FROM ${database}.schema_migrations`);
  assert.equal(Number(recorded?.v), lastVersion);
});

test('an old ReplacingMergeTree events table keeps one row per event, and its rows reach the projections', async () => {
  const database = newDatabase('old');
  await ensureProjection(clickhouse, database);
  const rows = sampleRows('s-old').map(({ id_conflict: _flag, ...row }) => row);
  // The same rows twice, as a producer retry once wrote them: ReplacingMergeTree had not merged them yet.
  await clickhouse.insert({ table: `${database}.events`, values: [...rows, ...rows], format: 'JSONEachRow' });
  await migrate(clickhouse, database);
  const [count] = await query<{ n: string }>(`SELECT count() AS n FROM ${database}.events`);
  assert.equal(Number(count?.n), rows.length);
  const [session] = await query<{ events: string; requests: string; closed: number; head_seq: string }>(
    `SELECT events, requests, closed, head_seq FROM ${database}.sessions WHERE session_id = 's-old'`,
  );
  assert.deepEqual(
    {
      events: Number(session?.events),
      requests: Number(session?.requests),
      closed: Number(session?.closed),
      head: Number(session?.head_seq),
    },
    { events: rows.length, requests: 1, closed: 1, head: rows.length - 1 },
  );
});

test('a crash after the projections were filled but before the version was recorded does not count twice', async () => {
  const database = newDatabase('crash');
  await migrate(clickhouse, database);
  await clickhouse.insert({ table: `${database}.events`, values: sampleRows('s-crash'), format: 'JSONEachRow' });
  // As if the projector died right after version 3 ran: run it again.
  await clickhouse.command({ query: `ALTER TABLE ${database}.schema_migrations DELETE WHERE version = 3` });
  await waitForMutations(database);
  assert.deepEqual(await migrate(clickhouse, database), [3]);
  const [request] = await query<{ n: string }>(`SELECT count() AS n FROM ${database}.requests`);
  assert.equal(Number(request?.n), 1);
  const [session] = await query<{ events: string }>(`SELECT events FROM ${database}.sessions WHERE session_id = 's-crash'`);
  assert.equal(Number(session?.events), 5);
});

test('the requests view joins request, verdict and response; masking exposure counts what masking hid', async () => {
  const database = newDatabase('views');
  await migrate(clickhouse, database);
  await clickhouse.insert({ table: `${database}.events`, values: sampleRows('s-views'), format: 'JSONEachRow' });
  const [request] = await query<{
    sql_text: string;
    decision: string;
    outcome: string;
    actor: string;
    duration_us: string;
    connection: string;
  }>(`SELECT sql_text, decision, outcome, actor, duration_us, connection FROM ${database}.requests`);
  const [opened, observed, verdict, response] = sampleSession();
  assert.ok(opened && observed && verdict && response);
  assert.equal(request?.decision, verdict.eventType === 'VerdictIssued' ? verdict.payload.decision : '');
  assert.equal(request?.outcome, response.eventType === 'ResponseObserved' ? response.payload.outcome : '');
  assert.equal(
    request?.sql_text,
    observed.eventType === 'RequestObserved' && observed.payload.detail.kind === 'sql' ? observed.payload.detail.text : '',
  );
  assert.equal(Number(request?.duration_us), response.timeUs - observed.timeUs);
  assert.equal(request?.connection, observed.eventType === 'RequestObserved' ? (observed.payload.connection ?? '') : 'not a request');
  assert.notEqual(request?.connection, '');
  // A response that masked three cells of one column and one value by detector.
  const masked = sampleRows('s-mask').map((row) =>
    row['event_type'] === 'ResponseObserved'
      ? { ...row, payload_json: '{"masking":[{"count":3,"key":"column:customers.card"},{"count":1,"key":"detector:iban"}],"outcome":"ok"}' }
      : row,
  );
  await clickhouse.insert({ table: `${database}.events`, values: masked, format: 'JSONEachRow' });
  const exposure = await query<{ masked_by: string; cells: string }>(
    `SELECT masked_by, sum(cells) AS cells FROM ${database}.masking_exposure WHERE session_id = 's-mask' GROUP BY masked_by ORDER BY masked_by`,
  );
  assert.deepEqual(
    exposure.map((e) => [e.masked_by, Number(e.cells)]),
    [
      ['column:customers.card', 3],
      ['detector:iban', 1],
    ],
  );
});

test('the projections agree with the events they aggregate; a decision forged in the requests state is named', async () => {
  const database = newDatabase('check');
  await migrate(clickhouse, database);
  await clickhouse.insert({ table: `${database}.events`, values: sampleRows('s-check'), format: 'JSONEachRow' });
  const events = await query<StoredEventRow>(`SELECT * FROM ${database}.events`);
  const projected = await readProjections(query, database, events);
  assert.ok(projected);
  assert.equal(projected.requests.length, 1);
  assert.deepEqual(checkProjections(events, projected), []);
  // Someone with write access adds a state that wins the argMax: the request now reads as denied.
  await clickhouse.command({
    query:
      `INSERT INTO ${database}.requests_state (request_id, month, decision_agg) ` +
      `SELECT request_id, month, argMaxIfState('deny', toUInt64(9999999999999999), toUInt8(1)) FROM ${database}.requests_state GROUP BY request_id, month`,
  });
  const forged = await readProjections(query, database, events);
  assert.ok(forged);
  assert.deepEqual(
    checkProjections(events, forged).map((f) => [f.kind, f.column]),
    [['column-mismatch', 'requests.decision']],
  );
});

async function waitForMutations(database: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await query<{ n: string }>(`SELECT count() AS n FROM system.mutations WHERE database = '${database}' AND is_done = 0`);
    if (Number(row?.n) === 0) return;
    if (Date.now() > deadline) throw new Error('mutation did not finish');
    await new Promise((r) => setTimeout(r, 100));
  }
}
