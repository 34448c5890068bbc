// Reads audit events back from the ClickHouse projection.
import { quoteString, type ClickHouseClient } from '@agentgate/clickhouse';
import { verifyStoredChain, type ChainVerification } from '@agentgate/events';

export interface EventRowView {
  event_id: string;
  event_type: string;
  session_id: string;
  seq: number;
  prev_hash: string;
  hash: string;
  hash_valid: number;
  decision: string;
  rule_id: string;
  statement_kind: string;
  sql_text: string;
  outcome: string;
  error_code: string;
  payload_json: string;
  canonical_text: string;
  time_us: number;
}

/** The session opened with the given application_name (the e2e tests make it unique). */
export async function sessionIdFor(ch: ClickHouseClient, db: string, applicationName: string): Promise<string | undefined> {
  const r = await ch.query({
    query: `SELECT session_id FROM ${db}.events WHERE event_type = 'SessionOpened' AND payload_json LIKE ${quoteString(`%"clientApplication":"${applicationName}"%`)} LIMIT 1`,
    format: 'JSONEachRow',
  });
  const rows = await r.json<{ session_id: string }>();
  return rows[0]?.session_id;
}

/** Events of each kind, counted apart (they reach ClickHouse from different topics). */
export interface EventKindCounts {
  opened: number;
  requests: number;
  verdicts: number;
  responses: number;
  closed: number;
}

/** Deduplicated events of each kind among the sessions `sessionFilter` (a SQL condition on session_id) selects. */
export async function eventKindCounts(ch: ClickHouseClient, db: string, sessionFilter: string): Promise<EventKindCounts> {
  const r = await ch.query({
    query: `SELECT countIf(event_type = 'SessionOpened') AS opened, countIf(event_type = 'RequestObserved') AS requests,
                   countIf(event_type = 'VerdictIssued') AS verdicts, countIf(event_type = 'ResponseObserved') AS responses,
                   countIf(event_type = 'SessionClosed') AS closed
            FROM ${db}.events WHERE ${sessionFilter}`,
    format: 'JSONEachRow',
  });
  const [row] = await r.json<Record<keyof EventKindCounts, string>>();
  const n = (k: keyof EventKindCounts): number => Number(row?.[k] ?? 0);
  return { opened: n('opened'), requests: n('requests'), verdicts: n('verdicts'), responses: n('responses'), closed: n('closed') };
}

/** Every event of a session, deduplicated and in chain order. */
export async function sessionEvents(ch: ClickHouseClient, db: string, sessionId: string): Promise<EventRowView[]> {
  const r = await ch.query({
    query: `SELECT * FROM ${db}.events WHERE session_id = ${quoteString(sessionId)} ORDER BY seq`,
    format: 'JSONEachRow',
  });
  return (await r.json<EventRowView>()).map((row) => ({
    ...row,
    seq: Number(row.seq),
    hash_valid: Number(row.hash_valid),
    time_us: Number(row.time_us),
  }));
}

export function verifySession(rows: readonly EventRowView[]): ChainVerification {
  return verifyStoredChain(
    rows.map((r) => ({ seq: r.seq, hash: r.hash, prevHash: r.prev_hash === '' ? null : r.prev_hash, canonicalText: r.canonical_text })),
  );
}
