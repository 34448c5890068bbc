// Request search over agentgate.events, pure: the SQL for a page of requests (request, live
// verdict, response and the approval it asked for, joined by request_id, newest first) and the
// join of that page with its approvals' outcomes. Every value a caller sends reaches the SQL
// only through quoteString / quoteUInt / quoteIdentifier of @agentgate/clickhouse.
import { quoteIdentifier, quoteString, quoteStringList, quoteUInt } from '@agentgate/clickhouse';

export interface SearchFilters {
  /** Matches the principal (subject) or the acting agent (actor). */
  identity?: string;
  connection?: string;
  /** Request time, inclusive, microseconds since the epoch. */
  fromUs?: number;
  /** Request time, exclusive. */
  untilUs?: number;
  /** The live verdict's decision (the final one when a request waited for approval). */
  decision?: string;
  /** The statement kind, e.g. SelectStmt. */
  kind?: string;
  /** A case-insensitive substring of the recorded (masked) statement text. */
  text?: string;
  limit: number;
  offset: number;
}

const REQUEST = "event_type = 'RequestObserved'";
const LIVE_VERDICT = "event_type = 'VerdictIssued' AND shadow = 0";
const RESPONSE = "event_type = 'ResponseObserved'";
// The request's connection is recorded in its payload (the column holds the session's only on
// SessionOpened); canonical JSON sorts keys, so the top-level key comes before any nested one.
const CONNECTION = "visitParamExtractString(payload_json, 'connection')";

/** The WHERE conditions on RequestObserved rows; the decision filter applies after the join. */
function requestConditions(f: SearchFilters): string[] {
  const c = [REQUEST];
  if (f.identity !== undefined) c.push(`(subject = ${quoteString(f.identity)} OR actor = ${quoteString(f.identity)})`);
  if (f.connection !== undefined) c.push(`${CONNECTION} = ${quoteString(f.connection)}`);
  if (f.fromUs !== undefined) c.push(`time_us >= ${quoteUInt(f.fromUs)}`);
  if (f.untilUs !== undefined) c.push(`time_us < ${quoteUInt(f.untilUs)}`);
  if (f.kind !== undefined) c.push(`statement_kind = ${quoteString(f.kind)}`);
  // position, not LIKE: the text is a plain substring, so % and _ in it mean themselves.
  if (f.text !== undefined) c.push(`positionCaseInsensitiveUTF8(sql_text, ${quoteString(f.text)}) > 0`);
  return c;
}

/** The SQL for one page of search results (SearchRow objects, newest first). */
export function searchQuery(database: string, f: SearchFilters): string {
  const events = `${quoteIdentifier(database)}.events`;
  // Inner aliases differ from column names: ClickHouse resolves a name to a same-named alias
  // first, which would nest aggregates (anyIf(session_id, ...) AS session_id, then anyIf(session_id ...)).
  const inner =
    'SELECT request_id AS rid,' +
    ` anyIf(session_id, ${REQUEST}) AS r_session_id,` +
    ` minIf(time_us, ${REQUEST}) AS r_time_us,` +
    ` anyIf(subject, ${REQUEST}) AS r_subject,` +
    ` anyIf(actor, ${REQUEST}) AS r_actor,` +
    ` anyIf(protocol, ${REQUEST}) AS r_protocol,` +
    ` anyIf(${CONNECTION}, ${REQUEST}) AS r_connection,` +
    ` anyIf(statement_kind, ${REQUEST}) AS r_statement_kind,` +
    ` anyIf(sql_text, ${REQUEST}) AS r_sql_text,` +
    // The last live verdict decides: a final verdict follows a pending_approval one.
    ` argMaxIf(decision, seq, ${LIVE_VERDICT}) AS v_decision,` +
    ` argMaxIf(rule_id, seq, ${LIVE_VERDICT}) AS v_rule_id,` +
    ` argMaxIf(policy_version, seq, ${LIVE_VERDICT}) AS v_policy_version,` +
    ` countIf(${LIVE_VERDICT}) AS v_live,` +
    ` countIf(event_type = 'VerdictIssued' AND shadow = 1) AS v_shadow,` +
    ` argMaxIf(outcome, seq, ${RESPONSE}) AS o_outcome,` +
    ` argMaxIf(row_count, seq, ${RESPONSE}) AS o_row_count,` +
    ` argMaxIf(error_code, seq, ${RESPONSE}) AS o_error_code,` +
    ` maxIf(time_us, ${RESPONSE}) AS o_time_us,` +
    ` countIf(${RESPONSE}) AS o_responses,` +
    ` anyIf(session_id, event_type = 'ApprovalRequested') AS a_approval_id,` +
    ` countIf(${REQUEST}) AS r_requests` +
    ` FROM ${events}` +
    " WHERE event_type IN ('RequestObserved', 'VerdictIssued', 'ResponseObserved', 'ApprovalRequested')" +
    ` AND request_id IN (SELECT request_id FROM ${events} WHERE ${requestConditions(f).join(' AND ')})` +
    ' GROUP BY request_id';
  const conditions = ['r_requests > 0'];
  if (f.decision !== undefined) conditions.push(`v_decision = ${quoteString(f.decision)}`);
  return (
    'SELECT rid AS request_id, r_session_id AS session_id, r_time_us AS request_time_us, r_subject AS subject, r_actor AS actor,' +
    ' r_protocol AS protocol, r_connection AS connection, r_statement_kind AS statement_kind, r_sql_text AS sql_text,' +
    ' v_decision AS decision, v_rule_id AS rule_id, v_policy_version AS policy_version, v_live AS live_verdicts,' +
    ' v_shadow AS shadow_verdicts, o_outcome AS outcome, o_row_count AS row_count, o_error_code AS error_code,' +
    ' o_time_us AS response_time_us, o_responses AS responses, a_approval_id AS approval_id' +
    ` FROM (${inner}) WHERE ${conditions.join(' AND ')}` +
    ` ORDER BY request_time_us DESC, request_id DESC LIMIT ${quoteUInt(f.offset)}, ${quoteUInt(f.limit)}`
  );
}

/** The decisions and outcomes of the approvals a page of results asked for. */
export function approvalsQuery(database: string, approvalIds: readonly string[]): string {
  return (
    `SELECT session_id AS approval_id, event_type, subject, decision, outcome, time_us FROM ${quoteIdentifier(database)}.events` +
    ` WHERE session_id IN (${quoteStringList(approvalIds)}) AND event_type IN ('ApprovalDecided', 'ApprovalResolved')` +
    ' ORDER BY session_id, seq'
  );
}

/** A row of searchQuery as JSONEachRow returns it (UInt64 as strings). */
export interface SearchRow {
  request_id: string;
  session_id: string;
  request_time_us: string | number;
  subject: string;
  actor: string;
  protocol: string;
  connection: string;
  statement_kind: string;
  sql_text: string;
  decision: string;
  rule_id: string;
  policy_version: string;
  live_verdicts: string | number;
  shadow_verdicts: string | number;
  outcome: string;
  row_count: string | number;
  error_code: string;
  response_time_us: string | number;
  responses: string | number;
  approval_id: string;
}

/** A row of approvalsQuery. */
export interface ApprovalRow {
  approval_id: string;
  event_type: string;
  subject: string;
  decision: string;
  outcome: string;
  time_us: string | number;
}

export interface SearchResult {
  requestId: string;
  sessionId: string;
  at: string;
  timeUs: number;
  subject: string;
  actor: string;
  protocol: string;
  connection: string;
  statementKind: string;
  text: string;
  verdict: { decision: string; ruleId: string | null; policyVersion: string } | null;
  /** Shadow verdicts recorded beside the live one (never enforced); the replay shows them. */
  shadowVerdicts: number;
  response: { outcome: string; rowCount: number; errorCode: string | null; at: string } | null;
  /** From the request to its response. */
  durationUs: number | null;
  approval: {
    approvalId: string;
    decisions: { by: string; decision: string; at: string }[];
    outcome: string | null;
    resolvedAt: string | null;
  } | null;
}

const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();

/** The approval ids a page of results refers to. */
export function approvalIdsOf(rows: readonly SearchRow[]): string[] {
  return [...new Set(rows.map((r) => r.approval_id).filter((id) => id !== ''))];
}

/** A page of results, its approvals' decisions joined in. */
export function searchResults(rows: readonly SearchRow[], approvals: readonly ApprovalRow[]): SearchResult[] {
  return rows.map((r) => {
    const timeUs = Number(r.request_time_us);
    const responded = Number(r.responses) > 0;
    const responseUs = Number(r.response_time_us);
    const own = approvals.filter((a) => a.approval_id === r.approval_id);
    const resolved = own.filter((a) => a.event_type === 'ApprovalResolved').at(-1);
    return {
      requestId: r.request_id,
      sessionId: r.session_id,
      at: iso(timeUs),
      timeUs,
      subject: r.subject,
      actor: r.actor,
      protocol: r.protocol,
      connection: r.connection,
      statementKind: r.statement_kind,
      text: r.sql_text,
      verdict:
        Number(r.live_verdicts) > 0
          ? { decision: r.decision, ruleId: r.rule_id === '' ? null : r.rule_id, policyVersion: r.policy_version }
          : null,
      shadowVerdicts: Number(r.shadow_verdicts),
      response: responded
        ? { outcome: r.outcome, rowCount: Number(r.row_count), errorCode: r.error_code === '' ? null : r.error_code, at: iso(responseUs) }
        : null,
      durationUs: responded ? responseUs - timeUs : null,
      approval:
        r.approval_id === ''
          ? null
          : {
              approvalId: r.approval_id,
              decisions: own
                .filter((a) => a.event_type === 'ApprovalDecided')
                .map((a) => ({ by: a.subject, decision: a.decision, at: iso(Number(a.time_us)) })),
              outcome: resolved?.outcome ?? null,
              resolvedAt: resolved === undefined ? null : iso(Number(resolved.time_us)),
            },
    };
  });
}
