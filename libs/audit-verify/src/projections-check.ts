// The projections (services/projector/src/projections.ts: the `requests` and `sessions` views)
// checked against the events they aggregate. The events' own columns are checked against their
// hashed text by verifyAudit; this closes the last step, so a value edited in a projection's
// state table (a denial turned into an allow in `requests`) is named like an edited event cell.
// Pure, apart from readProjections, which takes the caller's query function.
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import type { Finding, VerificationReport } from './findings.js';
import type { RowQuery } from './scope.js';
import type { StoredEventRow } from './verify.js';

/** A row of the `requests` view, as ClickHouse returns it. */
export interface ProjectedRequest {
  request_id: string;
  [column: string]: unknown;
}

/** A row of the `sessions` view, as ClickHouse returns it. */
export interface ProjectedSession {
  session_id: string;
  [column: string]: unknown;
}

export interface Projected {
  requests: readonly ProjectedRequest[];
  sessions: readonly ProjectedSession[];
}

/** Ids per IN list: well under ClickHouse's default max_query_size. */
const CHUNK = 500;

const REQUEST_COLUMNS = ['session_id', 'subject', 'actor', 'statement_kind', 'sql_text', 'decision', 'rule_id', 'outcome', 'row_count'];
const SESSION_COLUMNS = ['subject', 'actor', 'connection', 'head_seq', 'head_hash'];

/**
 * Reads the projection rows of the requests and sessions in `rows`; undefined when the database
 * has no such views (a copy of the events table alone, or a database older than the projections).
 */
export async function readProjections(query: RowQuery, database: string, rows: readonly StoredEventRow[]): Promise<Projected | undefined> {
  const db = quoteIdentifier(database);
  const views = await query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${quoteString(database)} AND name IN ('requests', 'sessions')`,
  );
  if (views.length < 2) return undefined;
  const requestIds = [...new Set(rows.filter((r) => r.event_type === 'RequestObserved').map((r) => String(r['request_id'])))];
  const sessionIds = [...new Set(rows.filter((r) => r.event_type === 'SessionOpened').map((r) => r.session_id))];
  const requests: ProjectedRequest[] = [];
  const sessions: ProjectedSession[] = [];
  for (let i = 0; i < requestIds.length; i += CHUNK) {
    const ids = requestIds
      .slice(i, i + CHUNK)
      .map(quoteString)
      .join(', ');
    requests.push(
      ...(await query<ProjectedRequest>(
        `SELECT request_id, ${REQUEST_COLUMNS.join(', ')} FROM ${db}.requests WHERE request_id IN (${ids}) SETTINGS enable_optimize_predicate_expression = 1`,
      )),
    );
  }
  for (let i = 0; i < sessionIds.length; i += CHUNK) {
    const ids = sessionIds
      .slice(i, i + CHUNK)
      .map(quoteString)
      .join(', ');
    sessions.push(
      ...(await query<ProjectedSession>(
        `SELECT session_id, ${SESSION_COLUMNS.join(', ')} FROM ${db}.sessions WHERE session_id IN (${ids}) SETTINGS enable_optimize_predicate_expression = 1`,
      )),
    );
  }
  return { requests, sessions };
}

const num = (v: unknown): number => Number(v ?? 0);
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** The latest row of a kind (what argMax by time_us picks), or undefined. */
function latest(rows: readonly StoredEventRow[], keep: (r: StoredEventRow) => boolean): StoredEventRow | undefined {
  let best: StoredEventRow | undefined;
  for (const r of rows) if (keep(r) && (best === undefined || num(r.time_us) > num(best.time_us))) best = r;
  return best;
}

/** What each projected request and session should hold, recomputed from the stored events. */
function expected(rows: readonly StoredEventRow[]): {
  requests: Map<string, { seq: number; sessionId: string; values: Record<string, string> }>;
  sessions: Map<string, { seq: number; values: Record<string, string> }>;
} {
  const byRequest = new Map<string, StoredEventRow[]>();
  const bySession = new Map<string, StoredEventRow[]>();
  for (const r of rows) {
    const rid = str(r['request_id']);
    if (rid !== '' && ['RequestObserved', 'VerdictIssued', 'ResponseObserved'].includes(r.event_type)) {
      const list = byRequest.get(rid);
      if (list === undefined) byRequest.set(rid, [r]);
      else list.push(r);
    }
    const list = bySession.get(r.session_id);
    if (list === undefined) bySession.set(r.session_id, [r]);
    else list.push(r);
  }
  const requests = new Map<string, { seq: number; sessionId: string; values: Record<string, string> }>();
  for (const [rid, list] of byRequest) {
    const request = list.find((r) => r.event_type === 'RequestObserved');
    if (request === undefined) continue;
    const verdict = latest(list, (r) => r.event_type === 'VerdictIssued' && num(r['shadow']) === 0);
    const response = latest(list, (r) => r.event_type === 'ResponseObserved');
    requests.set(rid, {
      seq: num(request.seq),
      sessionId: request.session_id,
      values: {
        session_id: request.session_id,
        subject: str(request['subject']),
        actor: str(request['actor']),
        statement_kind: str(request['statement_kind']),
        sql_text: str(request['sql_text']),
        decision: str(verdict?.['decision']),
        rule_id: str(verdict?.['rule_id']),
        outcome: str(response?.['outcome']),
        row_count: String(num(response?.['row_count'])),
      },
    });
  }
  const sessions = new Map<string, { seq: number; values: Record<string, string> }>();
  for (const [sid, list] of bySession) {
    const opened = list.find((r) => r.event_type === 'SessionOpened');
    if (opened === undefined) continue;
    let head: StoredEventRow | undefined;
    for (const r of list) if (num(r['shadow']) === 0 && (head === undefined || num(r.seq) > num(head.seq))) head = r;
    sessions.set(sid, {
      seq: num(opened.seq),
      values: {
        subject: str(opened['subject']),
        actor: str(opened['actor']),
        connection: str(opened['connection']),
        head_seq: String(num(head?.seq)),
        head_hash: str(head?.hash),
      },
    });
  }
  return { requests, sessions };
}

/**
 * Findings for every projected request and session column that differs from what the events
 * give (kind column-mismatch, column `requests.<name>` or `sessions.<name>`), and for a request
 * or session the projection lacks.
 */
export function checkProjections(rows: readonly StoredEventRow[], projected: Projected): Finding[] {
  const want = expected(rows);
  const findings: Finding[] = [];
  const requests = new Map(projected.requests.map((r) => [r.request_id, r]));
  const sessions = new Map(projected.sessions.map((s) => [s.session_id, s]));
  for (const [rid, { seq, sessionId, values }] of want.requests) {
    const got = requests.get(rid);
    if (got === undefined) {
      findings.push({
        kind: 'column-mismatch',
        sessionId,
        seq,
        column: 'requests',
        detail: `request ${rid} is missing from the requests projection`,
      });
      continue;
    }
    for (const [column, value] of Object.entries(values)) {
      if (str(got[column]) !== value)
        findings.push({
          kind: 'column-mismatch',
          sessionId,
          seq,
          column: `requests.${column}`,
          detail: `request ${rid}: the projection holds ${JSON.stringify(str(got[column]))}; the events give ${JSON.stringify(value)}`,
        });
    }
  }
  for (const [sid, { seq, values }] of want.sessions) {
    const got = sessions.get(sid);
    if (got === undefined) {
      findings.push({
        kind: 'column-mismatch',
        sessionId: sid,
        seq,
        column: 'sessions',
        detail: 'the session is missing from the sessions projection',
      });
      continue;
    }
    for (const [column, value] of Object.entries(values)) {
      if (str(got[column]) !== value)
        findings.push({
          kind: 'column-mismatch',
          sessionId: sid,
          seq,
          column: `sessions.${column}`,
          detail: `the projection holds ${JSON.stringify(str(got[column]))}; the events give ${JSON.stringify(value)}`,
        });
    }
  }
  return findings;
}

/** The report with projection findings added (sorted by session, then seq) and `ok` recomputed. */
export function withProjectionFindings(report: VerificationReport, extra: readonly Finding[]): VerificationReport {
  if (extra.length === 0) return report;
  const findings = [...report.findings, ...extra].sort((a, b) =>
    a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : (a.seq ?? -1) - (b.seq ?? -1),
  );
  return { ...report, findings, ok: false };
}
