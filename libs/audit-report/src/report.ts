// The compliance report as plain data, and its one tabular view. Whoever queries the audit log
// fills a ComplianceReport; the renderers (JSON, CSV, HTML, PDF) only format it, so they read
// no clock and no store: the period and the generation time come in with the data.
import type { VerificationReport } from '@agentgate/audit-verify';

/** The reporting period, ISO 8601 instants: events at or after `since` and before `until`. */
export interface ReportPeriod {
  since: string;
  until: string;
}

/** Section 1: who used which connection, and how much. */
export interface AccessRow {
  /** The principal (the token's sub). */
  subject: string;
  /** The acting agent (the subject itself when not delegated). */
  actor: string;
  connection: string;
  /** Sessions with activity in the period. */
  sessions: number;
  requests: number;
  /** Requests the live policy denied. */
  denied: number;
}

/** Section 2: one privileged statement (DDL, DELETE/UPDATE/TRUNCATE, GRANT, ALTER ROLE...) and its approval. */
export interface PrivilegedAction {
  at: string;
  sessionId: string;
  requestId: string;
  subject: string;
  actor: string;
  connection: string;
  statementKind: string;
  statement: string;
  /** The live verdict: allow, deny, pending_approval, or '' when none was recorded. */
  decision: string;
  ruleId: string;
  /** The approval that asked for or granted it, '' when none. */
  approvalId: string;
  /** Who approved or denied it, in decision order. */
  approvers: string[];
  /** approved, denied, expired, pending, or '' without an approval. */
  approvalOutcome: string;
}

/** Section 3: one statement the live policy denied. */
export interface DeniedAttempt {
  at: string;
  sessionId: string;
  subject: string;
  actor: string;
  connection: string;
  ruleId: string;
  statement: string;
}

/** Section 4a: cells masking hid, by masking key (`column:<label>` or `detector:<name>`). */
export interface MaskedCells {
  subject: string;
  actor: string;
  /** The rule or detector that masked, as the ResponseObserved tally names it. */
  key: string;
  cells: number;
}

/** Section 4b: results that carried a sensitive column with nothing masked. */
export interface UnmaskedExposure {
  subject: string;
  actor: string;
  column: string;
  results: number;
  rows: number;
}

/** Section 5: one policy publication. */
export interface PolicyChange {
  at: string;
  policyName: string;
  version: string;
  shadow: boolean;
  publishedBy: string;
  publisherIssuer: string;
  contentHash: string;
}

/** A list a limit may have cut: `total` counts every match, `rows` holds the first ones. */
export interface Listing<T> {
  rows: T[];
  total: number;
}

/** Everything a compliance report shows. */
export interface ComplianceReport {
  title: string;
  period: ReportPeriod;
  /** ISO time the report was generated at, passed in by the caller. */
  generatedAt: string;
  access: AccessRow[];
  privileged: Listing<PrivilegedAction>;
  denied: Listing<DeniedAttempt>;
  masking: { hidden: MaskedCells[]; unmasked: UnmaskedExposure[] };
  policyChanges: PolicyChange[];
  /** The audit verification over the period, or null when none was run. */
  verification: VerificationReport | null;
}

export type SectionId = 'access' | 'privileged' | 'denied' | 'masking' | 'policy' | 'verification';

/** One count of the summary, e.g. { section: 'denied', label: 'denied attempts', value: 3 }. */
export interface SummaryCount {
  section: SectionId;
  label: string;
  value: number;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** The headline counts of each section, in report order. */
export function reportSummary(report: ComplianceReport): SummaryCount[] {
  const identities = new Set(report.access.map((r) => `${r.subject}\u0000${r.actor}`)).size;
  const approved = report.privileged.rows.filter((r) => r.approvalOutcome === 'approved').length;
  const v = report.verification;
  const counts: SummaryCount[] = [
    { section: 'access', label: 'identities', value: identities },
    { section: 'access', label: 'sessions', value: sum(report.access.map((r) => r.sessions)) },
    { section: 'access', label: 'requests', value: sum(report.access.map((r) => r.requests)) },
    { section: 'privileged', label: 'privileged actions', value: report.privileged.total },
    { section: 'privileged', label: 'privileged actions approved', value: approved },
    { section: 'denied', label: 'denied attempts', value: report.denied.total },
    { section: 'masking', label: 'masked cells', value: sum(report.masking.hidden.map((r) => r.cells)) },
    { section: 'masking', label: 'results with unmasked sensitive columns', value: sum(report.masking.unmasked.map((r) => r.results)) },
    { section: 'policy', label: 'policy publications', value: report.policyChanges.length },
  ];
  if (v !== null) {
    counts.push(
      { section: 'verification', label: 'sessions verified', value: v.sessionsChecked },
      { section: 'verification', label: 'events verified', value: v.eventsChecked },
      { section: 'verification', label: 'verification findings', value: v.findings.length },
      { section: 'verification', label: 'checkpoints', value: v.checkpoints.length },
    );
  }
  return counts;
}

/** A section (or part of one) as a table of display strings: what CSV and HTML both render. */
export interface ReportTable {
  section: SectionId;
  /** Distinguishes the tables of one section (e.g. verification: result, findings, checkpoints, keys). */
  part: string;
  title: string;
  columns: string[];
  rows: string[][];
  /** Said under the table, e.g. that a limit cut it. */
  note?: string;
}

function cut(listing: Listing<unknown>): string | undefined {
  return listing.total > listing.rows.length ? `showing the first ${listing.rows.length} of ${listing.total}` : undefined;
}

function timeOf(us: number): string {
  return Number.isFinite(us) && us > 0 ? new Date(Math.floor(us / 1000)).toISOString() : '';
}

/** Every table of the report, in report order. */
export function reportTables(report: ComplianceReport): ReportTable[] {
  const tables: ReportTable[] = [
    {
      section: 'access',
      part: 'access',
      title: 'Access by identity',
      columns: ['subject', 'actor', 'connection', 'sessions', 'requests', 'denied'],
      rows: report.access.map((r) => [r.subject, r.actor, r.connection, String(r.sessions), String(r.requests), String(r.denied)]),
    },
    {
      section: 'privileged',
      part: 'privileged',
      title: 'Privileged actions and their approvals',
      columns: [
        'at',
        'subject',
        'actor',
        'connection',
        'statement kind',
        'statement',
        'decision',
        'rule',
        'approval',
        'approvers',
        'approval outcome',
        'session',
      ],
      rows: report.privileged.rows.map((r) => [
        r.at,
        r.subject,
        r.actor,
        r.connection,
        r.statementKind,
        r.statement,
        r.decision,
        r.ruleId,
        r.approvalId,
        r.approvers.join(', '),
        r.approvalOutcome,
        r.sessionId,
      ]),
      note: cut(report.privileged),
    },
    {
      section: 'denied',
      part: 'denied',
      title: 'Denied attempts',
      columns: ['at', 'subject', 'actor', 'connection', 'rule', 'statement', 'session'],
      rows: report.denied.rows.map((r) => [r.at, r.subject, r.actor, r.connection, r.ruleId, r.statement, r.sessionId]),
      note: cut(report.denied),
    },
    {
      section: 'masking',
      part: 'masked',
      title: 'Masking exposure: what masking hid, by rule or detector',
      columns: ['subject', 'actor', 'rule or detector', 'cells'],
      rows: report.masking.hidden.map((r) => [r.subject, r.actor, r.key, String(r.cells)]),
    },
    {
      section: 'masking',
      part: 'unmasked',
      title: 'Masking exposure: sensitive columns seen unmasked',
      columns: ['subject', 'actor', 'column', 'results', 'rows'],
      rows: report.masking.unmasked.map((r) => [r.subject, r.actor, r.column, String(r.results), String(r.rows)]),
    },
    {
      section: 'policy',
      part: 'policy',
      title: 'Policy changes',
      columns: ['at', 'policy', 'version', 'mode', 'published by', 'issuer', 'content hash'],
      rows: report.policyChanges.map((r) => [
        r.at,
        r.policyName,
        r.version,
        r.shadow ? 'shadow' : 'live',
        r.publishedBy,
        r.publisherIssuer,
        r.contentHash,
      ]),
    },
  ];
  const v = report.verification;
  if (v === null) {
    tables.push({
      section: 'verification',
      part: 'result',
      title: 'Verification',
      columns: ['result'],
      rows: [['not run']],
    });
    return tables;
  }
  tables.push(
    {
      section: 'verification',
      part: 'result',
      title: 'Verification',
      columns: ['result', 'since', 'sessions checked', 'events checked', 'findings', 'checkpoints'],
      rows: [
        [
          v.ok ? 'OK' : 'NOT OK',
          v.since ?? 'everything',
          String(v.sessionsChecked),
          String(v.eventsChecked),
          String(v.findings.length),
          String(v.checkpoints.length),
        ],
      ],
    },
    {
      section: 'verification',
      part: 'findings',
      title: 'Verification findings',
      columns: ['kind', 'session', 'seq', 'column', 'detail'],
      rows: v.findings.map((f) => [f.kind, f.sessionId, f.seq === undefined ? '' : String(f.seq), f.column ?? '', f.detail]),
    },
    {
      section: 'verification',
      part: 'checkpoints',
      title: 'Checkpoints and their signatures',
      columns: ['checkpointer', 'seq', 'key id', 'covered until', 'heads', 'signature (base64)', 'valid'],
      rows: v.checkpoints.map((c) => [
        c.checkpointerId,
        String(c.seq),
        c.keyId,
        timeOf(c.coveredUntilUs),
        String(c.heads),
        c.signature,
        c.valid ? 'valid' : 'INVALID',
      ]),
    },
    {
      section: 'verification',
      part: 'trusted-keys',
      title: 'Trusted public keys',
      columns: ['key id', 'public key'],
      rows: v.trustedKeys.map((k) => [k.keyId, k.publicKey]),
    },
  );
  return tables;
}

/** The report as one JSON document (with its summary counts first), ending in a newline. */
export function toJson(report: ComplianceReport): string {
  const { title, period, generatedAt, ...sections } = report;
  return `${JSON.stringify({ title, period, generatedAt, summary: reportSummary(report), ...sections }, null, 2)}\n`;
}
