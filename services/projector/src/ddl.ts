// The ClickHouse projection of the audit log. SQL stays in the subset that runs on
// Debian's 18.16 and on current releases: no Nullable, no TTL, no skip indexes, no Map/JSON.
import { quoteIdentifier } from '@agentgate/clickhouse';

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
      actor_subject String,
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
  ];
}
