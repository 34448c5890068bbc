// Exactly one row per event, by event id, without ever merging history away.
//
// The projector never inserts a Kafka offset twice (see app.ts), but the same event can reach
// Kafka twice: a producer retry after a lost acknowledgement, an ingress replaying what it was
// not sure had landed. Those copies are identical (same id, same hash) and get no second row.
// A different event under an id already stored (a verdict decided again after a restart, or a
// forgery) is kept and flagged in id_conflict: it is evidence, and the verifier reports it.
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import type { EventRow } from '@agentgate/audit-store';

/**
 * What is stored already: (session id, event id) -> the hashes stored under it. Ids are compared
 * within a session, as the lookup reads them (the session leads the table's sort key; a lookup
 * across all sessions would scan the whole table on every insert).
 */
export type StoredIds = ReadonlyMap<string, ReadonlySet<string>>;

const idKey = (sessionId: unknown, eventId: unknown): string => `${String(sessionId)}\u0000${String(eventId)}`;

/** Pure: the rows to insert, identical copies dropped, conflicting ones flagged. */
export function planEventInsert(
  rows: readonly EventRow[],
  stored: StoredIds,
): { insert: EventRow[]; duplicates: number; conflicts: number } {
  const seen = new Map<string, Set<string>>();
  for (const [id, hashes] of stored) seen.set(id, new Set(hashes));
  const insert: EventRow[] = [];
  let duplicates = 0;
  let conflicts = 0;
  for (const row of rows) {
    const id = idKey(row['session_id'], row['event_id']);
    const hash = String(row['hash']);
    const hashes = seen.get(id);
    if (hashes?.has(hash)) {
      duplicates += 1;
      continue;
    }
    if (hashes === undefined) {
      seen.set(id, new Set([hash]));
      insert.push(row);
    } else {
      hashes.add(hash);
      conflicts += 1;
      insert.push({ ...row, id_conflict: 1 });
    }
  }
  return { insert, duplicates, conflicts };
}

/** Event ids per lookup query: keeps each query far below ClickHouse's max_query_size (256 KiB). */
export const LOOKUP_CHUNK = 1000;

/**
 * The queries that find which of `rows` are stored already. The session id leads the table's
 * sort key, so naming the sessions lets ClickHouse read only their granules.
 */
export function storedIdQueries(database: string, rows: readonly EventRow[]): string[] {
  const queries: string[] = [];
  for (let i = 0; i < rows.length; i += LOOKUP_CHUNK) {
    const chunk = rows.slice(i, i + LOOKUP_CHUNK);
    const sessions = [...new Set(chunk.map((r) => String(r['session_id'])))];
    const ids = [...new Set(chunk.map((r) => String(r['event_id'])))];
    queries.push(
      `SELECT session_id, event_id, hash FROM ${quoteIdentifier(database)}.events ` +
        `WHERE session_id IN (${sessions.map(quoteString).join(', ')}) AND event_id IN (${ids.map(quoteString).join(', ')})`,
    );
  }
  return queries;
}

/** Folds lookup answers into StoredIds. */
export function storedIdsOf(answers: readonly { session_id: string; event_id: string; hash: string }[]): StoredIds {
  const stored = new Map<string, Set<string>>();
  for (const { session_id, event_id, hash } of answers) {
    const key = idKey(session_id, event_id);
    const hashes = stored.get(key) ?? new Set<string>();
    hashes.add(hash);
    stored.set(key, hashes);
  }
  return stored;
}
