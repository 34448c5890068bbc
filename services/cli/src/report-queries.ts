// The queries behind `agentgate report`: one per section, read through the CLI's AuditReader
// from the ClickHouse projection (agentgate.events, agentgate.policy_publications). The SQL
// follows docs/soc-queries.md and stays in what Debian's ClickHouse 18.16 runs: one JOIN per
// SELECT (nested for a second), right-hand columns renamed so nothing is shadowed, payload
// fields read with visitParamExtract*. Every value reaches the text through quoteString,
// quoteIdentifier or quoteUInt; the mapping from rows to report data is pure and tested.
// `events` holds exactly one row per event (a plain MergeTree: no FINAL); policy_publications is
// a ReplacingMergeTree, read with FINAL.
import { quoteIdentifier, quoteString, quoteStringList, quoteUInt } from '@agentgate/clickhouse';
import type {
  AccessRow,
  ComplianceReport,
  DeniedAttempt,
  MaskedCells,
  PolicyChange,
  PrivilegedAction,
  UnmaskedExposure,
} from '@agentgate/audit-report';
import type { VerificationReport } from '@agentgate/audit-verify';
import type { AuditReader } from './backends.js';

/**
 * Statement kinds (PostgreSQL parse nodes) that change schema, data in bulk, or privileges: the
 * DDL list of docs/soc-queries.md plus DELETE/UPDATE/MERGE, roles, databases and server settings.
 */
export const PRIVILEGED_KINDS: readonly string[] = Object.freeze([
  'CreateStmt',
  'CreateTableAsStmt',
  'AlterTableStmt',
  'DropStmt',
  'IndexStmt',
  'RenameStmt',
  'CreateSchemaStmt',
  'ViewStmt',
  'CreateFunctionStmt',
  'AlterFunctionStmt',
  'CreateTrigStmt',
  'CreateEventTrigStmt',
  'RuleStmt',
  'AlterObjectSchemaStmt',
  'TruncateStmt',
  'DeleteStmt',
  'UpdateStmt',
  'MergeStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'CreateRoleStmt',
  'AlterRoleStmt',
  'AlterRoleSetStmt',
  'DropRoleStmt',
  'DropOwnedStmt',
  'ReassignOwnedStmt',
  'AlterDefaultPrivilegesStmt',
  'CreatedbStmt',
  'DropdbStmt',
  'AlterDatabaseStmt',
  'AlterDatabaseSetStmt',
  'AlterSystemStmt',
]);

/** The customer columns whose unmasked appearance the report lists by default (as the SOC query does). */
export const DEFAULT_SENSITIVE_COLUMNS: readonly string[] = Object.freeze(['card_number', 'ssn', 'iban']);

export interface ReportQueryOptions {
  database: string;
  /** The period in microseconds since the epoch: [sinceUs, untilUs). */
  sinceUs: number;
  untilUs: number;
  /** The most rows a listing section (privileged actions, denied attempts, ...) holds; totals still count all. */
  limit: number;
  /** Result columns that count as customer data when no masking applied. */
  sensitiveColumns: readonly string[];
}

// A statement is recorded just before its verdict; its request row is looked for this far
// before the period so a verdict early in the period still finds its statement.
const REQUEST_LOOKBACK_US = 3_600_000_000;
const STATEMENT_CHARS = 500;

function events(o: ReportQueryOptions): string {
  return `${quoteIdentifier(o.database)}.events`;
}

/** `time_us` within the period; `event_date` too, so ClickHouse skips other months' partitions. */
export function periodFilter(sinceUs: number, untilUs: number): string {
  const day = (us: number): string => quoteString(new Date(Math.floor(us / 1000)).toISOString().slice(0, 10));
  return (
    `event_date >= toDate(${day(sinceUs)}) AND event_date <= toDate(${day(untilUs)}) ` +
    `AND time_us >= ${quoteUInt(sinceUs)} AND time_us < ${quoteUInt(untilUs)}`
  );
}

/** A request whose main statement, or any statement of a multi-statement text, is privileged. */
function privilegedFilter(): string {
  const kinds = `[${quoteStringList(PRIVILEGED_KINDS)}]`;
  return (
    `(statement_kind IN (${quoteStringList(PRIVILEGED_KINDS)}) OR ` +
    `arrayExists(k -> has(${kinds}, k), extractAll(visitParamExtractRaw(payload_json, 'statementKinds'), '"([A-Za-z]+)"')))`
  );
}

function sessionConnections(o: ReportQueryOptions): string {
  return `(SELECT session_id, connection AS connection_of_session FROM ${events(o)} WHERE event_type = 'SessionOpened')`;
}

/** Section 1: sessions active in the period and their requests, by subject, actor and connection. */
export function accessQuery(o: ReportQueryOptions): string {
  return `SELECT subject, actor, connection_of_session AS connection, count() AS sessions, sum(requests) AS requests, sum(denied) AS denied
FROM (
  SELECT session_id, anyIf(subject, subject != '') AS subject, anyIf(actor, actor != '') AS actor,
         countIf(event_type = 'RequestObserved') AS requests,
         countIf(event_type = 'VerdictIssued' AND decision = 'deny' AND shadow = 0) AS denied
  FROM ${events(o)}
  WHERE event_type IN ('SessionOpened', 'RequestObserved', 'VerdictIssued') AND ${periodFilter(o.sinceUs, o.untilUs)}
  GROUP BY session_id
)
ANY LEFT JOIN ${sessionConnections(o)} USING session_id
GROUP BY subject, actor, connection_of_session
ORDER BY requests DESC, subject, actor, connection
LIMIT ${quoteUInt(o.limit)}`;
}

/** Section 2: privileged statements with their live verdict (and the approval the verdict names). */
export function privilegedQuery(o: ReportQueryOptions): string {
  return `SELECT time_us, session_id, request_id, subject, actor, connection_of_session AS connection, statement_kind, statement,
       verdict_decision, verdict_rule, verdict_approval
FROM (
  SELECT time_us, seq, session_id, request_id, subject, actor, statement_kind, substring(sql_text, 1, ${quoteUInt(STATEMENT_CHARS)}) AS statement,
         verdict_decision, verdict_rule, verdict_approval
  FROM ${events(o)}
  ANY LEFT JOIN (
    SELECT request_id, decision AS verdict_decision, rule_id AS verdict_rule,
           visitParamExtractString(payload_json, 'approvalId') AS verdict_approval
    FROM ${events(o)}
    WHERE event_type = 'VerdictIssued' AND shadow = 0 AND time_us >= ${quoteUInt(o.sinceUs)}
  ) USING request_id
  WHERE event_type = 'RequestObserved' AND ${periodFilter(o.sinceUs, o.untilUs)} AND ${privilegedFilter()}
)
ANY LEFT JOIN ${sessionConnections(o)} USING session_id
ORDER BY time_us, session_id, seq
LIMIT ${quoteUInt(o.limit)}`;
}

export function privilegedCountQuery(o: ReportQueryOptions): string {
  return `SELECT count() AS total FROM ${events(o)}
WHERE event_type = 'RequestObserved' AND ${periodFilter(o.sinceUs, o.untilUs)} AND ${privilegedFilter()}`;
}

/**
 * The approval events of the approvals that asked for or granted a privileged request of the
 * period: the request (ApprovalRequested, GrantUsed name the request), who decided, how it ended.
 */
export function approvalEventsQuery(o: ReportQueryOptions): string {
  const approvalId = "visitParamExtractString(payload_json, 'approvalId')";
  return `SELECT event_type, request_id, ${approvalId} AS approval_id, subject, decision, outcome
FROM ${events(o)}
WHERE event_type IN ('ApprovalRequested', 'GrantUsed', 'ApprovalDecided', 'ApprovalResolved')
  AND ${approvalId} IN (
    SELECT ${approvalId} FROM ${events(o)}
    WHERE event_type IN ('ApprovalRequested', 'GrantUsed') AND request_id IN (
      SELECT request_id FROM ${events(o)}
      WHERE event_type = 'RequestObserved' AND ${periodFilter(o.sinceUs, o.untilUs)} AND ${privilegedFilter()}
    )
  )
ORDER BY time_us, seq`;
}

/** Section 3: statements the live policy denied, with the statement and the session's connection. */
export function deniedQuery(o: ReportQueryOptions): string {
  return `SELECT time_us, session_id, subject, actor, connection_of_session AS connection, rule_id, statement_of_request AS statement
FROM (
  SELECT time_us, seq, session_id, subject, actor, rule_id, statement_of_request
  FROM ${events(o)}
  ANY LEFT JOIN (
    SELECT request_id, substring(sql_text, 1, ${quoteUInt(STATEMENT_CHARS)}) AS statement_of_request
    FROM ${events(o)}
    WHERE event_type = 'RequestObserved' AND time_us >= ${quoteUInt(Math.max(0, o.sinceUs - REQUEST_LOOKBACK_US))}
  ) USING request_id
  WHERE event_type = 'VerdictIssued' AND decision = 'deny' AND shadow = 0 AND ${periodFilter(o.sinceUs, o.untilUs)}
)
ANY LEFT JOIN ${sessionConnections(o)} USING session_id
ORDER BY time_us, session_id, seq
LIMIT ${quoteUInt(o.limit)}`;
}

export function deniedCountQuery(o: ReportQueryOptions): string {
  return `SELECT count() AS total FROM ${events(o)}
WHERE event_type = 'VerdictIssued' AND decision = 'deny' AND shadow = 0 AND ${periodFilter(o.sinceUs, o.untilUs)}`;
}

/** Section 4a: cells masking hid, by identity and masking key (`column:<label>`, `detector:<name>`). */
export function maskedQuery(o: ReportQueryOptions): string {
  return `SELECT subject, actor, tupleElement(m, 1) AS rule_or_detector, sum(tupleElement(m, 2)) AS cells
FROM ${events(o)}
ARRAY JOIN arrayMap((k, c) -> (k, toUInt64(c)),
                    extractAll(visitParamExtractRaw(payload_json, 'masking'), '"key":"([^"]+)"'),
                    extractAll(visitParamExtractRaw(payload_json, 'masking'), '"count":([0-9]+)')) AS m
WHERE event_type = 'ResponseObserved' AND ${periodFilter(o.sinceUs, o.untilUs)}
GROUP BY subject, actor, rule_or_detector
ORDER BY cells DESC, subject, actor, rule_or_detector
LIMIT ${quoteUInt(o.limit)}`;
}

/** Section 4b: results that carried a sensitive column while nothing was masked; undefined without columns. */
export function unmaskedQuery(o: ReportQueryOptions): string | undefined {
  if (o.sensitiveColumns.length === 0) return undefined;
  return `SELECT subject, actor, sensitive_column, count() AS results, sum(row_count) AS row_total
FROM ${events(o)}
ARRAY JOIN [${quoteStringList(o.sensitiveColumns)}] AS sensitive_column
WHERE event_type = 'ResponseObserved' AND ${periodFilter(o.sinceUs, o.untilUs)}
  AND position(payload_json, concat('"name":"', sensitive_column, '"')) > 0
  AND visitParamExtractRaw(payload_json, 'masking') = '[]'
  AND row_count > 0
GROUP BY subject, actor, sensitive_column
ORDER BY row_total DESC, subject, actor, sensitive_column
LIMIT ${quoteUInt(o.limit)}`;
}

/** Section 5: policy publications in the period. */
export function policyQuery(o: ReportQueryOptions): string {
  return `SELECT published_at_us, policy_name, version, shadow, published_by, publisher_issuer, content_hash
FROM ${quoteIdentifier(o.database)}.policy_publications FINAL
WHERE published_at_us >= ${quoteUInt(o.sinceUs)} AND published_at_us < ${quoteUInt(o.untilUs)}
ORDER BY published_at_us, policy_name, version
LIMIT ${quoteUInt(o.limit)}`;
}

// Rows as JSONEachRow gives them: 64-bit integers arrive as strings.
type Num = string | number;

export interface AccessDbRow {
  subject: string;
  actor: string;
  connection: string;
  sessions: Num;
  requests: Num;
  denied: Num;
}

export interface PrivilegedDbRow {
  time_us: Num;
  session_id: string;
  request_id: string;
  subject: string;
  actor: string;
  connection: string;
  statement_kind: string;
  statement: string;
  verdict_decision: string;
  verdict_rule: string;
  verdict_approval: string;
}

export interface ApprovalEventDbRow {
  event_type: string;
  request_id: string;
  approval_id: string;
  subject: string;
  decision: string;
  outcome: string;
}

export interface DeniedDbRow {
  time_us: Num;
  session_id: string;
  subject: string;
  actor: string;
  connection: string;
  rule_id: string;
  statement: string;
}

export interface MaskedDbRow {
  subject: string;
  actor: string;
  rule_or_detector: string;
  cells: Num;
}

export interface UnmaskedDbRow {
  subject: string;
  actor: string;
  sensitive_column: string;
  results: Num;
  row_total: Num;
}

export interface PolicyDbRow {
  published_at_us: Num;
  policy_name: string;
  version: string;
  shadow: Num;
  published_by: string;
  publisher_issuer: string;
  content_hash: string;
}

const iso = (us: Num): string => new Date(Math.floor(Number(us) / 1000)).toISOString();

export function toAccess(r: AccessDbRow): AccessRow {
  return {
    subject: r.subject,
    actor: r.actor,
    connection: r.connection,
    sessions: Number(r.sessions),
    requests: Number(r.requests),
    denied: Number(r.denied),
  };
}

interface ApprovalSummary {
  approvers: string[];
  outcome: string;
}

/**
 * Joins privileged requests to their approvals: the approval the verdict names, else one that
 * asked for (ApprovalRequested) or granted (GrantUsed) the request. Approvers are listed in
 * decision order, each once, as `name (approve|deny)`.
 */
export function withApprovals(rows: readonly PrivilegedDbRow[], approvalEvents: readonly ApprovalEventDbRow[]): PrivilegedAction[] {
  const approvalOfRequest = new Map<string, string>();
  const approvals = new Map<string, ApprovalSummary>();
  const summary = (id: string): ApprovalSummary => {
    let s = approvals.get(id);
    if (s === undefined) {
      s = { approvers: [], outcome: 'pending' };
      approvals.set(id, s);
    }
    return s;
  };
  for (const e of approvalEvents) {
    if (e.approval_id === '') continue;
    if (e.event_type === 'ApprovalRequested' || e.event_type === 'GrantUsed') {
      // The request that asked wins over a later one the grant was used for.
      if (!approvalOfRequest.has(e.request_id)) approvalOfRequest.set(e.request_id, e.approval_id);
      summary(e.approval_id);
    } else if (e.event_type === 'ApprovalDecided') {
      const entry = `${e.subject} (${e.decision})`;
      const s = summary(e.approval_id);
      if (!s.approvers.includes(entry)) s.approvers.push(entry);
    } else if (e.event_type === 'ApprovalResolved') {
      summary(e.approval_id).outcome = e.outcome;
    }
  }
  return rows.map((r) => {
    const approvalId = r.verdict_approval !== '' ? r.verdict_approval : (approvalOfRequest.get(r.request_id) ?? '');
    const approval = approvalId === '' ? undefined : approvals.get(approvalId);
    return {
      at: iso(r.time_us),
      sessionId: r.session_id,
      requestId: r.request_id,
      subject: r.subject,
      actor: r.actor,
      connection: r.connection,
      statementKind: r.statement_kind,
      statement: r.statement,
      decision: r.verdict_decision,
      ruleId: r.verdict_rule,
      approvalId,
      approvers: approval?.approvers ?? [],
      approvalOutcome: approvalId === '' ? '' : (approval?.outcome ?? 'pending'),
    };
  });
}

export function toDenied(r: DeniedDbRow): DeniedAttempt {
  return {
    at: iso(r.time_us),
    sessionId: r.session_id,
    subject: r.subject,
    actor: r.actor,
    connection: r.connection,
    ruleId: r.rule_id,
    statement: r.statement,
  };
}

export function toMasked(r: MaskedDbRow): MaskedCells {
  return { subject: r.subject, actor: r.actor, key: r.rule_or_detector, cells: Number(r.cells) };
}

export function toUnmasked(r: UnmaskedDbRow): UnmaskedExposure {
  return { subject: r.subject, actor: r.actor, column: r.sensitive_column, results: Number(r.results), rows: Number(r.row_total) };
}

export function toPolicyChange(r: PolicyDbRow): PolicyChange {
  return {
    at: iso(r.published_at_us),
    policyName: r.policy_name,
    version: r.version,
    shadow: Number(r.shadow) === 1,
    publishedBy: r.published_by,
    publisherIssuer: r.publisher_issuer,
    contentHash: r.content_hash,
  };
}

async function total(audit: AuditReader, query: string): Promise<number> {
  const [row] = await audit.rows<{ total: Num }>(query);
  return Number(row?.total ?? 0);
}

export interface ReportMeta {
  title: string;
  /** ISO time of generation; the caller's clock. */
  generatedAt: string;
  verification: VerificationReport | null;
}

/** Runs every section's queries and assembles the report. */
export async function collectReport(audit: AuditReader, o: ReportQueryOptions, meta: ReportMeta): Promise<ComplianceReport> {
  const unmasked = unmaskedQuery(o);
  const [access, privileged, privilegedTotal, approvalEvents, denied, deniedTotal, masked, exposed, policy] = await Promise.all([
    audit.rows<AccessDbRow>(accessQuery(o)),
    audit.rows<PrivilegedDbRow>(privilegedQuery(o)),
    total(audit, privilegedCountQuery(o)),
    audit.rows<ApprovalEventDbRow>(approvalEventsQuery(o)),
    audit.rows<DeniedDbRow>(deniedQuery(o)),
    total(audit, deniedCountQuery(o)),
    audit.rows<MaskedDbRow>(maskedQuery(o)),
    unmasked === undefined ? Promise.resolve([]) : audit.rows<UnmaskedDbRow>(unmasked),
    audit.rows<PolicyDbRow>(policyQuery(o)),
  ]);
  return {
    title: meta.title,
    period: { since: iso(o.sinceUs), until: iso(o.untilUs) },
    generatedAt: meta.generatedAt,
    access: access.map(toAccess),
    privileged: { rows: withApprovals(privileged, approvalEvents), total: privilegedTotal },
    denied: { rows: denied.map(toDenied), total: deniedTotal },
    masking: { hidden: masked.map(toMasked), unmasked: exposed.map(toUnmasked) },
    policyChanges: policy.map(toPolicyChange),
    verification: meta.verification,
  };
}
