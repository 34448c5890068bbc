// `agentgate policy replay --policy <dir> --since <time>`: re-decides recorded requests with a
// candidate policy and reports what would change, so a policy change can be gated in CI: exit 0
// when no decision would change, 1 when any would, 2 on errors. Reads ClickHouse as `reader`.
import { quoteIdentifier, quoteUInt } from '@agentgate/clickhouse';
import { fromAvro, type AuditEventOf } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import type { AuditReader } from './backends.js';
import { EXIT } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';
import { loadCandidate, type CandidatePolicy, type SessionView } from './policy-toolkit.js';

export interface ReplayOptions {
  policyDir: string;
  sinceUs: number;
  untilUs: number;
  connection: string | undefined;
  examples: number;
  json: boolean;
}

/** What decided a request: a decision and the rule (null: the policy's default). */
export interface Outcome {
  decision: string;
  ruleId: string | null;
}

/** One recorded request, its live verdict (null when none was recorded) and the candidate's. */
export interface ReplayedRequest {
  requestId: string;
  sessionId: string;
  timeUs: number;
  subject: string;
  connection: string | null;
  sql: string;
  live: (Outcome & { policyVersion: string }) | null;
  candidate: Outcome;
}

export interface ReplayExample {
  request_id: string;
  session_id: string;
  time: string;
  subject: string;
  connection: string | null;
  sql: string;
  live_policy: string | null;
}

export interface ReplayChange {
  from: string;
  to: string;
  count: number;
  examples: ReplayExample[];
}

/** The report, as --json prints it. */
export interface ReplayReport {
  candidate: string;
  window: { since: string; until: string; connection: string | null };
  requests: number;
  /** Requests whose decision would change (what the exit code gates on). */
  changed: number;
  /** Same decision, another rule. Reported, not gating. */
  rule_only: number;
  unchanged: number;
  /** Requests without a recorded live verdict (abandoned or not yet projected). */
  without_live_verdict: number;
  changes: ReplayChange[];
  rule_only_changes: ReplayChange[];
  /** Where replay cannot reproduce what the processor saw. */
  limits: string[];
}

const outcomeLabel = (o: Outcome | null): string => (o === null ? 'none' : `${o.decision}/${o.ruleId ?? '(default)'}`);

/** Pure: groups re-decided requests by (live -> candidate), with up to `examples` each. */
export function diffReplay(items: readonly ReplayedRequest[], examples: number): Omit<ReplayReport, 'candidate' | 'window' | 'limits'> {
  const changes = new Map<string, ReplayChange>();
  const ruleOnly = new Map<string, ReplayChange>();
  let unchanged = 0;
  let without = 0;
  const add = (into: Map<string, ReplayChange>, item: ReplayedRequest): void => {
    const from = outcomeLabel(item.live);
    const to = outcomeLabel(item.candidate);
    const key = `${from}\u0000${to}`;
    const change = into.get(key) ?? { from, to, count: 0, examples: [] };
    change.count++;
    if (change.examples.length < examples) {
      change.examples.push({
        request_id: item.requestId,
        session_id: item.sessionId,
        time: new Date(item.timeUs / 1000).toISOString(),
        subject: item.subject,
        connection: item.connection,
        sql: item.sql.length > 200 ? `${item.sql.slice(0, 200)}…` : item.sql,
        live_policy: item.live?.policyVersion ?? null,
      });
    }
    into.set(key, change);
  };
  for (const item of items) {
    if (item.live === null) without++;
    if (item.live === null || item.live.decision !== item.candidate.decision) add(changes, item);
    else if (item.live.ruleId !== item.candidate.ruleId) add(ruleOnly, item);
    else unchanged++;
  }
  const sorted = (m: Map<string, ReplayChange>): ReplayChange[] =>
    [...m.values()].sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const changeList = sorted(changes);
  const ruleOnlyList = sorted(ruleOnly);
  return {
    requests: items.length,
    changed: changeList.reduce((n, c) => n + c.count, 0),
    rule_only: ruleOnlyList.reduce((n, c) => n + c.count, 0),
    unchanged,
    without_live_verdict: without,
    changes: changeList,
    rule_only_changes: ruleOnlyList,
  };
}

/** 0 nothing would change, 1 some decision would. */
export function replayExitCode(report: Pick<ReplayReport, 'changed'>): number {
  return report.changed === 0 ? EXIT.ok : EXIT.failure;
}

/** Parses --since/--until: an ISO 8601 time, or a duration back from `nowMs` (30m, 2h, 7d). */
export function parseTime(text: string, nowMs: number): number {
  const ago = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (ago) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
    return (nowMs - Number(ago[1]) * unit) * 1000;
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new GatewayError('AG_ERR_CONFIG_INVALID', `not a time: ${text} (an ISO 8601 time, or 30m, 2h, 7d ago)`);
  return ms * 1000;
}

/** The limits every replay report states: what the processor saw that replay cannot. */
export const REPLAY_LIMITS: readonly string[] = [
  'guardrails (statement rates and budgets) are evaluated with no usage: the live counts depended on traffic before --since and on row counts of responses, so a candidate guardrail is not reproduced',
  'approval and masking outcomes are compared as decisions only: no approval is requested and nothing is masked',
  'statements recorded capped (longer than the audit cap) are re-decided from the recorded prefix, which does not parse: they come out as unparseable',
  'search-path knowledge starts fresh at --since: a session that changed its search_path before the window is taken as unchanged; the session\'s target role ("$user") is not known to replay',
];

interface RequestRow {
  session_id: string;
  request_id: string;
  time_us: string;
  hash: string;
  canonical_text: string;
}

interface VerdictRow {
  request_id: string;
  decision: string;
  rule_id: string;
  policy_version: string;
}

/** Recorded requests of the window, oldest first; values quoted by @agentgate/clickhouse. */
export function requestsQuery(database: string, sinceUs: number, untilUs: number): string {
  return `SELECT session_id, request_id, time_us, hash, canonical_text FROM ${quoteIdentifier(database)}.events
    WHERE event_type = 'RequestObserved' AND time_us >= ${quoteUInt(sinceUs)} AND time_us < ${quoteUInt(untilUs)}
    ORDER BY time_us, session_id, seq`;
}

/** Their live verdicts (a verdict carries its request's time), shadow verdicts left out. */
export function verdictsQuery(database: string, sinceUs: number, untilUs: number): string {
  return `SELECT request_id, any(decision) AS decision, any(rule_id) AS rule_id, any(policy_version) AS policy_version
    FROM ${quoteIdentifier(database)}.events
    WHERE event_type = 'VerdictIssued' AND shadow = 0 AND time_us >= ${quoteUInt(sinceUs)} AND time_us < ${quoteUInt(untilUs)}
    GROUP BY request_id`;
}

/** The recorded request an events row holds (its canonical text is the writer's Avro form). */
export function requestOf(row: Pick<RequestRow, 'canonical_text' | 'hash'>): AuditEventOf<'RequestObserved'> {
  const event = fromAvro({ ...(JSON.parse(row.canonical_text) as Record<string, unknown>), hash: row.hash });
  if (event.eventType !== 'RequestObserved') throw new GatewayError('AG_ERR_EVENT_INVALID', 'not a RequestObserved row');
  return event;
}

/** Re-decides the recorded requests of the window with `candidate`. */
export async function replayWith(
  audit: AuditReader,
  database: string,
  candidate: Pick<CandidatePolicy, 'version' | 'evaluate'>,
  options: Omit<ReplayOptions, 'policyDir' | 'json'>,
): Promise<ReplayReport> {
  const rows = await audit.rows<RequestRow>(requestsQuery(database, options.sinceUs, options.untilUs));
  const verdicts = new Map(
    (await audit.rows<VerdictRow>(verdictsQuery(database, options.sinceUs, options.untilUs))).map((v) => [v.request_id, v]),
  );
  const items: ReplayedRequest[] = [];
  // Sessions in recorded order: once a statement that may change the search path ran (the live
  // verdict allowed it), unqualified names of that session are unresolvable, as in the processor.
  const sessions = new Map<string, SessionView>();
  for (const row of rows) {
    const request = requestOf(row);
    const live = verdicts.get(row.request_id);
    const session = sessions.get(row.session_id) ?? { searchPathKnown: true, sessionUser: null };
    const decided = candidate.evaluate(request, session);
    if (
      live &&
      live.decision !== 'deny' &&
      decided.facts.some((f) => f.flags.searchPathChange || f.flags.dynamicSql || f.flags.roleChange)
    ) {
      sessions.set(row.session_id, { ...session, searchPathKnown: false });
    } else {
      sessions.set(row.session_id, session);
    }
    if (options.connection !== undefined && request.payload.connection !== options.connection) continue;
    const detail = request.payload.detail;
    items.push({
      requestId: row.request_id,
      sessionId: row.session_id,
      timeUs: Number(row.time_us),
      subject: request.actor?.subject ?? '',
      connection: request.payload.connection,
      sql: detail.kind === 'sql' ? detail.text : detail.kind,
      live: live
        ? { decision: live.decision, ruleId: live.rule_id === '' ? null : live.rule_id, policyVersion: live.policy_version }
        : null,
      candidate: { decision: decided.decision, ruleId: decided.ruleId },
    });
  }
  return {
    candidate: candidate.version,
    window: {
      since: new Date(options.sinceUs / 1000).toISOString(),
      until: new Date(options.untilUs / 1000).toISOString(),
      connection: options.connection ?? null,
    },
    ...diffReplay(items, options.examples),
    limits: [...REPLAY_LIMITS],
  };
}

/** The human report. */
export function reportLines(report: ReplayReport): string[] {
  const lines = [
    `replayed ${report.requests} recorded requests (${report.window.since} .. ${report.window.until}${report.window.connection ? `, connection ${report.window.connection}` : ''}) with ${report.candidate}`,
    `${report.changed} would change decision, ${report.rule_only} keep it under another rule, ${report.unchanged} unchanged${report.without_live_verdict > 0 ? ` (${report.without_live_verdict} had no live verdict)` : ''}`,
  ];
  const section = (title: string, changes: readonly ReplayChange[]): void => {
    if (changes.length === 0) return;
    lines.push('', title);
    for (const c of changes) {
      lines.push(`  ${String(c.count).padStart(6)}  ${c.from} -> ${c.to}`);
      for (const e of c.examples)
        lines.push(`          ${e.time}  ${e.subject || '-'}@${e.connection ?? '-'}  ${e.sql.replace(/\s+/g, ' ')}`);
    }
  };
  section('decision changes (live -> candidate):', report.changes);
  section('same decision, another rule:', report.rule_only_changes);
  lines.push('', 'not reproduced by replay:', ...report.limits.map((l) => `  - ${l}`));
  return lines;
}

export async function policyReplay(audit: AuditReader, database: string, options: ReplayOptions, io: CliIo): Promise<number> {
  const candidate = await loadCandidate(options.policyDir);
  const report = await replayWith(audit, database, candidate, options);
  if (options.json) printJson(io, report);
  else
    io.out(
      reportLines(report)
        .map((l) => `${l}\n`)
        .join(''),
    );
  return replayExitCode(report);
}
