// The SQL of legal holds and retention, and the pure folds of its answers. Every value reaches
// SQL through @agentgate/clickhouse's quoting; nothing here runs a query.
import { quoteIdentifier, quoteString, quoteStringList, quoteUInt } from '@agentgate/clickhouse';
import type { PartitionInfo } from './retention-plan.js';

/** The audit events table; its partitions are the ones retention plans by. */
export const EVENTS_TABLE = 'events';
/** Projection state tables (AggregatingMergeTree, PARTITION BY month): dropped with their month. */
export const STATE_SUFFIX = '_state';

/** A current hold as GET /v1/holds lists it. */
export interface HoldRow {
  session_id: string;
  reason: string;
  requested_by: string;
  /** Microseconds since the epoch (UInt64: a decimal string in JSONEachRow). */
  changed_us: string | number;
}

/**
 * The sessions under legal hold: the latest LegalHoldChanged per held session, when it is an
 * `add`. Rows whose text no longer hashes are ignored, so an edited row cannot lift a hold
 * (it cannot add one either; verification names it).
 */
export function currentHoldsQuery(database: string): string {
  const db = quoteIdentifier(database);
  return (
    'SELECT session_id, reason, requested_by, changed_us FROM (' +
    "SELECT request_id AS session_id, argMax(decision, (time_us, event_id)) AS action, argMax(outcome, (time_us, event_id)) AS reason, argMax(visitParamExtractString(payload_json, 'requestedBy'), (time_us, event_id)) AS requested_by, toString(max(time_us)) AS changed_us " +
    `FROM ${db}.events WHERE event_type = 'LegalHoldChanged' AND hash_valid = 1 GROUP BY request_id` +
    ") WHERE action = 'add' ORDER BY session_id"
  );
}

/** Whether an event is stored yet (a hold must be visible before a retention run may rely on it). */
export function eventStoredQuery(database: string, eventId: string): string {
  return `SELECT count() AS n FROM ${quoteIdentifier(database)}.events WHERE event_id = ${quoteString(eventId)}`;
}

/** Active parts of the events table and of every *_state table, rows per (table, partition). */
export function partitionsQuery(database: string): string {
  return (
    'SELECT table, partition, toString(sum(rows)) AS rows FROM system.parts ' +
    `WHERE active AND database = ${quoteString(database)} AND (table = ${quoteString(EVENTS_TABLE)} OR endsWith(table, ${quoteString(STATE_SUFFIX)})) ` +
    'GROUP BY table, partition ORDER BY partition, table'
  );
}

export interface PartRow {
  table: string;
  partition: string;
  rows: string | number;
}

/** system.parts rows folded into one entry per month: the tables holding it and the events in it. */
export function partitionsOf(rows: readonly PartRow[]): PartitionInfo[] {
  const byMonth = new Map<string, PartitionInfo>();
  for (const r of rows) {
    // 18.16 shows a UInt32 partition key bare, newer servers may quote it.
    const partition = String(r.partition).replace(/^'(.*)'$/, '$1');
    const entry = byMonth.get(partition) ?? { partition, rows: 0, tables: [] };
    if (!entry.tables.includes(r.table)) entry.tables.push(r.table);
    if (r.table === EVENTS_TABLE) entry.rows += Number(r.rows);
    byMonth.set(partition, entry);
  }
  return [...byMonth.values()];
}

/**
 * The months in which a held session has events, and those holding the hold records of a
 * current hold: dropping the record would lift the hold without an event saying so.
 */
export function heldPartitionsQuery(database: string, heldSessions: readonly string[]): string {
  const db = quoteIdentifier(database);
  const held = quoteStringList(heldSessions);
  return (
    'SELECT toString(toYYYYMM(event_date)) AS partition, session_id ' +
    `FROM ${db}.events WHERE session_id IN (${held}) OR (event_type = 'LegalHoldChanged' AND request_id IN (${held})) ` +
    'GROUP BY partition, session_id ORDER BY partition, session_id'
  );
}

/** Held sessions per partition, from heldPartitionsQuery's rows. */
export function heldByPartition(rows: readonly { partition: string; session_id: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.partition, [...(out.get(r.partition) ?? []), r.session_id]);
  return out;
}

/** Drops one month of one table. The partition must be a YYYYMM number (the planner only plans those). */
export function dropPartitionSql(database: string, table: string, partition: string): string {
  return `ALTER TABLE ${quoteIdentifier(database)}.${quoteIdentifier(table)} DROP PARTITION ${quoteUInt(Number(partition))}`;
}
