// Versioned migrations of the audit database, applied by the projector at start, in order,
// each recorded in `schema_migrations` once it is done. Each one is safe to rerun after a crash
// at any step (the projector may be killed mid-migration): it looks at what exists before it
// changes anything. Only one projector may migrate at a time; the stack runs one.
//
//   1  baseline: the events, events_rejected and policy_publications tables as ddl.ts has
//      always created them, and the in-place column migrations of layouts 1 to 3.
//   2  events keeps history: a plain MergeTree instead of ReplacingMergeTree, so a second,
//      different event under an id already stored is kept (flagged in `id_conflict`) instead of
//      being merged away; identical duplicates are never inserted (see dedup.ts).
//   3  projections: sessions, requests, approvals, policy_versions and masking_exposure
//      (projections.ts), filled from what the tables already hold.
import { GatewayError } from '@agentgate/errors';
import { quoteIdentifier, quoteString, quoteUInt, type ClickHouseClient } from '@agentgate/clickhouse';
import { ensureProjection } from './ddl.js';
import { projections } from './projections.js';

type Client = Pick<ClickHouseClient, 'command' | 'query'>;

export interface Migration {
  version: number;
  description: string;
  apply(client: Client, database: string): Promise<void>;
}

/** The columns of events as of layout 3, in table order; version 2 adds id_conflict after canonical_text. */
const EVENT_COLUMNS = [
  ['event_id', 'String'],
  ['event_type', 'String'],
  ['session_id', 'String'],
  ['seq', 'UInt64'],
  ['time_us', 'UInt64'],
  ['event_date', 'Date'],
  ['producer', 'String'],
  ['prev_hash', 'String'],
  ['hash', 'String'],
  ['hash_valid', 'UInt8'],
  ['subject', 'String'],
  ['actor', 'String'],
  ['actor_issuer', 'String'],
  ['actor_groups', 'Array(String)'],
  ['actor_chain', 'Array(String)'],
  ['token_id', 'String'],
  ['request_id', 'String'],
  ['protocol', 'String'],
  ['connection', 'String'],
  ['statement_kind', 'String'],
  ['sql_text', 'String'],
  ['decision', 'String'],
  ['rule_id', 'String'],
  ['policy_version', 'String'],
  ['shadow', 'UInt8'],
  ['outcome', 'String'],
  ['row_count', 'UInt64'],
  ['error_code', 'String'],
  ['payload_json', 'String'],
  ['canonical_text', 'String'],
  ['kafka_topic', 'String'],
  ['kafka_partition', 'UInt32'],
  ['kafka_offset', 'UInt64'],
  ['projected_at', 'DateTime'],
] as const;

async function rows<T>(client: Client, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

async function engineOf(client: Client, database: string, table: string): Promise<string | undefined> {
  const [row] = await rows<{ engine: string }>(
    client,
    `SELECT engine FROM system.tables WHERE database = ${quoteString(database)} AND name = ${quoteString(table)}`,
  );
  return row?.engine;
}

/** Pure: the statements that move a ReplacingMergeTree events table to a MergeTree that keeps history. */
export function eventsHistoryStatements(database: string): {
  create: string;
  copy: string;
  swap: string;
  dropOld: string;
  dropNew: string;
} {
  const db = quoteIdentifier(database);
  const names = EVENT_COLUMNS.map(([n]) => n);
  const columns = [...EVENT_COLUMNS.slice(0, 30), ['id_conflict', 'UInt8'] as const, ...EVENT_COLUMNS.slice(30)];
  return {
    create:
      `CREATE TABLE ${db}.events_v2 (${columns.map(([n, t]) => `${n} ${t}`).join(', ')}) ` +
      'ENGINE = MergeTree() PARTITION BY toYYYYMM(event_date) ORDER BY (session_id, seq, event_id)',
    // FINAL: the rows ReplacingMergeTree would have kept, one per (session_id, seq, event_id).
    copy: `INSERT INTO ${db}.events_v2 (${names.join(', ')}, id_conflict) SELECT ${names.join(', ')}, 0 FROM ${db}.events FINAL`,
    swap: `RENAME TABLE ${db}.events TO ${db}.events_replacing_v1, ${db}.events_v2 TO ${db}.events`,
    dropOld: `DROP TABLE IF EXISTS ${db}.events_replacing_v1`,
    dropNew: `DROP TABLE IF EXISTS ${db}.events_v2`,
  };
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'baseline: events, events_rejected, policy_publications (layouts 1 to 3)',
    async apply(client, database) {
      await ensureProjection(client, database);
    },
  },
  {
    version: 2,
    description: 'events keeps history: MergeTree with id_conflict instead of ReplacingMergeTree',
    async apply(client, database) {
      const s = eventsHistoryStatements(database);
      if ((await engineOf(client, database, 'events')) !== 'MergeTree') {
        // A copy left by a crash may be partial: start it again.
        await client.command({ query: s.dropNew });
        await client.command({ query: s.create });
        await client.command({ query: s.copy });
        await client.command({ query: s.swap });
      }
      await client.command({ query: s.dropOld });
    },
  },
  {
    version: 3,
    description: 'projections: sessions, requests, approvals, policy_versions, masking_exposure',
    async apply(client, database) {
      // Rebuilt whole on every attempt: a crash between a backfill and its record must not count twice.
      for (const p of projections(database)) {
        for (const statement of p.drop) await client.command({ query: statement });
        for (const statement of p.create) await client.command({ query: statement });
        await client.command({ query: p.backfill });
      }
    },
  },
];

/** Creates the migrations table and applies what is not yet recorded; returns the versions applied now. */
export async function migrate(client: Client, database: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const db = quoteIdentifier(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, description String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version`,
  });
  const done = new Set(
    (await rows<{ version: number | string }>(client, `SELECT version FROM ${db}.schema_migrations`)).map((r) => Number(r.version)),
  );
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    try {
      await m.apply(client, database);
    } catch (cause) {
      throw new GatewayError(
        'AG_ERR_INTERNAL',
        `migration ${m.version} (${m.description}) of ${database} failed; fix the cause and restart the projector`,
        {
          cause,
        },
      );
    }
    await client.command({
      query: `INSERT INTO ${db}.schema_migrations (version, description, applied_at) VALUES (${quoteUInt(m.version)}, ${quoteString(m.description)}, now())`,
    });
    applied.push(m.version);
  }
  return applied;
}
