// What a verification reads from ClickHouse, and the trusted keys it checks signatures with;
// shared by `agentgate verify`, `agentgate report` and the audit API. The queries are pure SQL
// (every value through @agentgate/clickhouse's quoting); the rows come through a query function
// the caller owns, so this library holds no connection.
import { createPublicKey } from 'node:crypto';
import { quoteIdentifier, quoteString, quoteUInt } from '@agentgate/clickhouse';
import { GatewayError } from '@agentgate/errors';
import { keyIdOf, type TrustedKey } from './checkpoint.js';
import { checkpointNamedSessions, type StoredEventRow } from './verify.js';

/** Runs one read query; rows as JSON objects (UInt64 as strings). */
export type RowQuery = <T>(sql: string) => Promise<T[]>;

const CHECKPOINT_LIKE = 'checkpoint/%';
/** Session ids per IN list: well under ClickHouse's default max_query_size (256 KiB). */
const IN_CHUNK = 500;

/** The scope of rows read: sessions with events in [sinceUs, untilUs), all when sinceUs is null. */
export interface RowScope {
  sinceUs: number | null;
  untilUs: number | null;
}

/** Every checkpoint row, whatever the scope: each checkpointer's chain is checked whole. */
export function checkpointRowsQuery(database: string): string {
  const db = quoteIdentifier(database);
  return `SELECT * FROM ${db}.events WHERE session_id LIKE ${quoteString(CHECKPOINT_LIKE)} ORDER BY session_id, seq`;
}

/** All rows of the sessions with an event in the scope (checkpoint chains apart). */
export function sessionRowsQuery(database: string, scope: RowScope): string {
  const db = quoteIdentifier(database);
  const notCheckpoint = `session_id NOT LIKE ${quoteString(CHECKPOINT_LIKE)}`;
  if (scope.sinceUs === null && scope.untilUs === null) return `SELECT * FROM ${db}.events WHERE ${notCheckpoint} ORDER BY session_id, seq`;
  const times = [
    ...(scope.sinceUs !== null ? [`time_us >= ${quoteUInt(scope.sinceUs)}`] : []),
    ...(scope.untilUs !== null ? [`time_us < ${quoteUInt(scope.untilUs)}`] : []),
  ].join(' AND ');
  return (
    `SELECT * FROM ${db}.events WHERE session_id IN (SELECT DISTINCT session_id FROM ${db}.events WHERE ${times}) ` +
    `AND ${notCheckpoint} ORDER BY session_id, seq`
  );
}

/**
 * Every retention record, whatever the scope: a drop explains checkpoints and early events that
 * are gone (verify.ts), so it must be seen even when it is older than the scope.
 */
export function retentionRowsQuery(database: string): string {
  const db = quoteIdentifier(database);
  return `SELECT * FROM ${db}.events WHERE event_type = 'RetentionApplied' ORDER BY session_id, seq`;
}

/** All rows of the named sessions (each id a quoted literal). */
export function namedSessionsQuery(database: string, sessionIds: readonly string[]): string {
  const db = quoteIdentifier(database);
  return `SELECT * FROM ${db}.events WHERE session_id IN (${sessionIds.map(quoteString).join(', ')}) ORDER BY session_id, seq`;
}

/**
 * The rows of a scope: every checkpoint row, every retention record, the sessions with events in
 * the scope, and the sessions a checkpoint covering the scope names, so a deleted session is
 * still looked for.
 */
export async function readScopeRows(query: RowQuery, database: string, scope: RowScope): Promise<StoredEventRow[]> {
  const checkpoints = await query<StoredEventRow>(checkpointRowsQuery(database));
  const sessions = await query<StoredEventRow>(sessionRowsQuery(database, scope));
  const rows = [...checkpoints, ...sessions];
  if (scope.sinceUs === null && scope.untilUs === null) return rows; // every session was read
  const present = new Set(sessions.map((r) => r.session_id));
  for (const row of await query<StoredEventRow>(retentionRowsQuery(database))) if (!present.has(row.session_id)) rows.push(row);
  const named = checkpointNamedSessions(checkpoints, scope.sinceUs).filter((s) => !present.has(s));
  for (let i = 0; i < named.length; i += IN_CHUNK) {
    // A loop, not push(...rows): a spread of a large answer overflows the call stack.
    for (const row of await query<StoredEventRow>(namedSessionsQuery(database, named.slice(i, i + IN_CHUNK)))) rows.push(row);
  }
  return rows;
}

/**
 * Trusted keys from a keys file: `{"keys":[{"keyId":"..","publicKey":"<base64 SPKI>","comment":".."}]}`.
 * Each key must be an Ed25519 public key whose id is its keyIdOf; anything else is AG_ERR_CONFIG_INVALID.
 */
export function parseTrustedKeys(text: string, path: string): TrustedKey[] {
  const bad = (why: string): GatewayError => new GatewayError('AG_ERR_CONFIG_INVALID', `trusted keys file ${path}: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw bad('expected {"keys":[{"keyId":"..","publicKey":".."}]} with at least one key');
  return keys.map((k: unknown, i) => {
    const { keyId, publicKey } = (k ?? {}) as { keyId?: unknown; publicKey?: unknown };
    if (typeof keyId !== 'string' || typeof publicKey !== 'string') throw bad(`keys[${i}] needs keyId and publicKey strings`);
    let actual: string;
    try {
      const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(String(key.asymmetricKeyType));
      actual = keyIdOf(key);
    } catch {
      throw bad(`keys[${i}].publicKey is not a base64 SPKI Ed25519 public key`);
    }
    if (actual !== keyId) throw bad(`keys[${i}].keyId is ${keyId}, but that public key's id is ${actual}`);
    return { keyId, publicKey };
  });
}
