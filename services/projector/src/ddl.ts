// The ClickHouse projection of the audit log. SQL stays in the subset that runs on
// Debian's 18.16 and on current releases: no Nullable, no TTL, no skip indexes, no Map/JSON,
// and no IF [NOT] EXISTS on ALTER ... COLUMN (18.16 has none): the columns a table has are read
// from system.columns and only what is missing is changed.
//
// Layouts of agentgate.events:
//   1  one `actor_subject` column held the token's subject, easy to take for the acting agent.
//   2  `subject` (the principal, the token's sub) and `actor` (the acting agent: the outermost
//      act.sub, or the subject when the token is not delegated) side by side, `actor_chain` the
//      delegation chain (principal first, current actor last); `actor_subject` is gone.
//   3  `shadow` (1 for a shadow policy's verdict: recorded beside the live verdict of the same
//      request_id, never enforced). Rows written before it are live verdicts, so the column's
//      default (0) is their value and no backfill is needed.
// A fresh database gets layout 3 from CREATE TABLE; an existing table is migrated in place
// (eventsMigration) with its rows backfilled, so old and new rows answer the same query.
// Policy publications (the policies topic) are projected into policy_publications: who
// published which version, when, live or shadow.
import { GatewayError } from '@agentgate/errors';
import { quoteIdentifier, quoteString, type ClickHouseClient } from '@agentgate/clickhouse';

/** Statements that create the projection tables in `database` (idempotent). */
export function projectionDdl(database: string): string[] {
  const db = quoteIdentifier(database);
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    // One row per audit event. ReplacingMergeTree on (session_id, seq, event_id) absorbs the
    // rare duplicate a producer retry writes to Kafka; the projector itself never inserts an
    // offset twice (it resumes after the highest offset stored here).
    `CREATE TABLE IF NOT EXISTS ${db}.events (
      event_id String,
      event_type String,
      session_id String,
      seq UInt64,
      time_us UInt64,
      event_date Date,
      producer String,
      prev_hash String,
      hash String,
      hash_valid UInt8,
      subject String,
      actor String,
      actor_issuer String,
      actor_groups Array(String),
      actor_chain Array(String),
      token_id String,
      request_id String,
      protocol String,
      connection String,
      statement_kind String,
      sql_text String,
      decision String,
      rule_id String,
      policy_version String,
      shadow UInt8,
      outcome String,
      row_count UInt64,
      error_code String,
      payload_json String,
      canonical_text String,
      kafka_topic String,
      kafka_partition UInt32,
      kafka_offset UInt64,
      projected_at DateTime
    ) ENGINE = ReplacingMergeTree()
    PARTITION BY toYYYYMM(event_date)
    ORDER BY (session_id, seq, event_id)`,
    // Messages that could not be decoded: kept, never dropped, for investigation.
    `CREATE TABLE IF NOT EXISTS ${db}.events_rejected (
      kafka_topic String,
      kafka_partition UInt32,
      kafka_offset UInt64,
      error_code String,
      error_message String,
      raw_base64 String,
      rejected_at DateTime
    ) ENGINE = MergeTree()
    ORDER BY (kafka_topic, kafka_partition, kafka_offset)`,
    // One row per policy publication: the audit trail of what decided when, and who said so.
    `CREATE TABLE IF NOT EXISTS ${db}.policy_publications (
      event_id String,
      policy_name String,
      version String,
      content_hash String,
      shadow UInt8,
      published_by String,
      publisher_issuer String,
      published_at_us UInt64,
      producer String,
      file_names Array(String),
      files_json String,
      kafka_topic String,
      kafka_partition UInt32,
      kafka_offset UInt64,
      projected_at DateTime
    ) ENGINE = ReplacingMergeTree()
    ORDER BY (policy_name, published_at_us, event_id)`,
  ];
}

/** What brings an events table with `columns` to the current layout; empty lists when it is current. */
export interface EventsMigration {
  /** Columns to add (run first). */
  add: string[];
  /** A mutation that fills the added columns of existing rows; wait for it before `drop`. */
  backfill: string | undefined;
  /** Columns to drop once the backfill is done. */
  drop: string[];
}

/** Pure: the migration of `database`.events, given the names of the columns it has now. */
export function eventsMigration(database: string, columns: ReadonlySet<string>): EventsMigration {
  const table = `${quoteIdentifier(database)}.events`;
  const add: string[] = [];
  if (!columns.has('subject')) add.push(`ALTER TABLE ${table} ADD COLUMN subject String AFTER hash_valid`);
  if (!columns.has('actor')) add.push(`ALTER TABLE ${table} ADD COLUMN actor String AFTER subject`);
  if (!columns.has('shadow')) add.push(`ALTER TABLE ${table} ADD COLUMN shadow UInt8 DEFAULT 0`);
  if (!columns.has('actor_subject')) return { add, backfill: undefined, drop: [] };
  // Layout 1 stored the subject in actor_subject and the chain as it is now, so the acting
  // agent of an old row is the chain's last entry (or the subject when there is no chain).
  // Rows without an actor (none was recorded) keep '' in both.
  return {
    add,
    backfill:
      `ALTER TABLE ${table} UPDATE subject = actor_subject, ` +
      `actor = if(empty(actor_chain), actor_subject, actor_chain[-1]) WHERE actor_subject != ''`,
    drop: [`ALTER TABLE ${table} DROP COLUMN actor_subject`],
  };
}

export interface EnsureProjectionOptions {
  /** How long to wait for the backfill mutation (default 10 minutes). */
  backfillTimeoutMs?: number;
  pollMs?: number;
}

async function eventsColumns(client: Pick<ClickHouseClient, 'query'>, database: string): Promise<Set<string>> {
  const result = await client.query({
    query: `SELECT name FROM system.columns WHERE database = ${quoteString(database)} AND table = 'events'`,
    format: 'JSONEachRow',
  });
  return new Set((await result.json<{ name: string }>()).map((r) => r.name));
}

async function pendingMutations(client: Pick<ClickHouseClient, 'query'>, database: string): Promise<number> {
  const result = await client.query({
    query: `SELECT count() AS pending FROM system.mutations WHERE database = ${quoteString(database)} AND table = 'events' AND is_done = 0`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ pending: number | string }>();
  return Number(row?.pending ?? 0);
}

/**
 * Creates the projection tables, or brings an existing events table to the current layout.
 * Safe to rerun after a crash at any step: each step is chosen from the columns present.
 */
export async function ensureProjection(
  client: Pick<ClickHouseClient, 'command' | 'query'>,
  database: string,
  options: EnsureProjectionOptions = {},
): Promise<EventsMigration> {
  for (const statement of projectionDdl(database)) await client.command({ query: statement });
  const migration = eventsMigration(database, await eventsColumns(client, database));
  for (const statement of migration.add) await client.command({ query: statement });
  if (migration.backfill !== undefined) {
    await client.command({ query: migration.backfill });
    // Mutations run in the background; the old column must outlive the one that reads it.
    const deadline = Date.now() + (options.backfillTimeoutMs ?? 600_000);
    while ((await pendingMutations(client, database)) > 0) {
      if (Date.now() > deadline) {
        throw new GatewayError(
          'AG_ERR_INTERNAL',
          `the backfill of ${database}.events (subject, actor) did not finish in time; see system.mutations, then restart the projector`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
  }
  for (const statement of migration.drop) await client.command({ query: statement });
  return migration;
}
