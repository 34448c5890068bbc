// Session replay: the transcript of one session built from its rows in agentgate.events, pure.
// Shared by the audit API (GET /v1/sessions/:id/replay) and `agentgate replay`; both fetch the
// rows (the session's own chain plus the chains of the approvals its requests asked for) and
// hand them here. SSH requests show their channel, command, SFTP path or forward target (from
// the payload: they have no SQL text) and a summary of their recorded terminal; HTTP and MCP
// requests show theirs likewise (http-request.ts, mcp-request.ts). Only recorded
// values are shown: statement texts and result samples are already masked in the events, so
// nothing here can reveal more than the log holds.
import { httpRequestOf, httpResponseLines, httpText, responseBodyOf, type TranscriptBody, type TranscriptHttp } from './http-request.js';
import { mcpDetailLines, mcpRequestOf, mcpResponseLines, mcpText, type TranscriptMcp } from './mcp-request.js';
import { sshKind, sshRequestOf, sshText, type TranscriptSsh } from './ssh-request.js';
import { type Json, optNumber, optString } from './payload-values.js';

/** One row of agentgate.events as JSONEachRow returns it (UInt64 columns may come as strings). */
export interface ReplayRow {
  event_id: string;
  event_type: string;
  session_id: string;
  seq: number | string;
  time_us: number | string;
  subject: string;
  actor: string;
  actor_chain: string[];
  request_id: string;
  protocol: string;
  connection: string;
  statement_kind: string;
  sql_text: string;
  decision: string;
  rule_id: string;
  policy_version: string;
  shadow: number | string;
  outcome: string;
  row_count: number | string;
  error_code: string;
  payload_json: string;
}

/** The columns a replay needs, in ReplayRow's order (for the SELECT list). */
export const REPLAY_COLUMNS: readonly (keyof ReplayRow)[] = [
  'event_id',
  'event_type',
  'session_id',
  'seq',
  'time_us',
  'subject',
  'actor',
  'actor_chain',
  'request_id',
  'protocol',
  'connection',
  'statement_kind',
  'sql_text',
  'decision',
  'rule_id',
  'policy_version',
  'shadow',
  'outcome',
  'row_count',
  'error_code',
  'payload_json',
];

export interface TranscriptSessionStart {
  at: string;
  timeUs: number;
  /** The principal (the token's subject). */
  subject: string;
  /** The acting agent (the outermost delegate, or the subject). */
  actor: string;
  /** The delegation chain, principal first. */
  actorChain: string[];
  protocol: string;
  connection: string;
  clientAddress: string | null;
  clientApplication: string | null;
  targetDatabase: string | null;
  targetUser: string | null;
}

export interface TranscriptSessionEnd {
  at: string;
  timeUs: number;
  reason: string;
  errorCode: string | null;
  requestCount: number | null;
}

export interface TranscriptVerdict {
  at: string;
  timeUs: number;
  decision: string;
  ruleId: string | null;
  policyVersion: string;
  reason: string | null;
  /** A shadow policy's verdict: recorded beside the live one, never enforced. */
  shadow: boolean;
  /** MCP only: the tools the agent may call (for a tools/list, the ones it was shown). */
  visibleTools?: string[];
}

export interface TranscriptApprovalDecision {
  by: string;
  decision: string;
  comment: string | null;
  at: string;
  timeUs: number;
}

export interface TranscriptApproval {
  approvalId: string;
  requestedAt: string | null;
  requestedAtUs: number | null;
  approverGroups: string[];
  decisions: TranscriptApprovalDecision[];
  /** approved, denied or expired; null while undecided. */
  outcome: string | null;
  resolvedAt: string | null;
  resolvedAtUs: number | null;
  decidedBy: string[];
}

export interface TranscriptMasking {
  /** `column:<label>` or `detector:<name>`. */
  key: string;
  count: number;
}

export interface TranscriptResponse {
  at: string;
  timeUs: number;
  outcome: string;
  rowCount: number;
  errorCode: string | null;
  errorMessage: string | null;
  commandTags: string[];
  columns: string[];
  /** The first rows as the agent saw them (masked per the verdict's plan). */
  sampleRows: (string | null)[][];
  sampleTruncated: boolean;
  /** Which masking rules and detectors fired, and on how many cells. */
  masking: TranscriptMasking[];
  /** Time at the target: from forwarding until its last byte. */
  targetDurationUs: number | null;
  /** SSH only: the remote command's exit status or signal, and each byte stream's size. */
  exitStatus?: number | null;
  exitSignal?: string | null;
  streams?: { name: string; bytes: number }[];
  /** HTTP and MCP only: the status (HTTP), the body's or result's size and its masked start. */
  httpStatus?: number | null;
  bytes?: number;
  bodySample?: string | null;
}

export interface TranscriptRequest {
  requestId: string;
  seq: number;
  at: string;
  timeUs: number;
  statementKind: string;
  text: string;
  /** The live verdict that decided (the last one: a final verdict follows a pending_approval one). */
  verdict: TranscriptVerdict | null;
  /** Every verdict in order, shadow ones included and flagged. */
  verdicts: TranscriptVerdict[];
  approval: TranscriptApproval | null;
  response: TranscriptResponse | null;
  /** From the request being observed until its response was observed; null without a response. */
  durationUs: number | null;
  /** SSH only: what the request asked for (its `text` is the one-line description). */
  ssh?: TranscriptSsh;
  /** SSH only: the recorded terminal of a shell, when one is stored. */
  terminal?: TranscriptTerminal;
  /** HTTP only: what the request asked for (its `text` is `METHOD /path?query`). */
  http?: TranscriptHttp;
  /** MCP only: what the request asked for (its `text` is `tools/call <tool> <arguments>` and the like). */
  mcp?: TranscriptMcp;
}

/** A session's transcript: who opened it, each request in order, how it ended. */
export interface Transcript {
  sessionId: string;
  opened: TranscriptSessionStart | null;
  closed: TranscriptSessionEnd | null;
  requests: TranscriptRequest[];
}

/** An SSH request's recorded terminal, summed over its TerminalRecorded events. */
export interface TranscriptTerminal {
  batches: number;
  frames: number;
  /** Values masked in the terminal's output and input, by detector. */
  masking: TranscriptMasking[];
}

function payloadOf(row: ReplayRow): Json {
  try {
    const value: unknown = JSON.parse(row.payload_json);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
  } catch {
    // A row whose payload does not parse still shows its columns; the verifier reports the row.
    return {};
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function num(value: number | string): number {
  return typeof value === 'number' ? value : Number(value);
}

function iso(timeUs: number): string {
  return new Date(Math.floor(timeUs / 1000)).toISOString();
}

function verdictOf(row: ReplayRow): TranscriptVerdict {
  const p = payloadOf(row);
  const timeUs = num(row.time_us);
  return {
    at: iso(timeUs),
    timeUs,
    decision: row.decision,
    ruleId: row.rule_id === '' ? null : row.rule_id,
    policyVersion: row.policy_version,
    reason: optString(p['reason']),
    shadow: num(row.shadow) === 1,
  };
}

function maskingOf(value: unknown): TranscriptMasking[] {
  const masking = Array.isArray(value) ? value : [];
  return masking
    .map((m) => ({ key: optString((m as Json | null)?.['key']) ?? '', count: optNumber((m as Json | null)?.['count']) ?? 0 }))
    .filter((m) => m.key !== '');
}

function sshResponseFields(r: TranscriptResponse, p: Json): void {
  r.exitStatus = optNumber(p['exitStatus']);
  r.exitSignal = optString(p['exitSignal']);
  const streams = Array.isArray(p['streams']) ? p['streams'] : [];
  r.streams = streams.map((s) => ({
    name: optString((s as Json | null)?.['name']) ?? '',
    bytes: optNumber((s as Json | null)?.['bytes']) ?? 0,
  }));
}

function responseOf(row: ReplayRow): TranscriptResponse {
  const p = payloadOf(row);
  const timeUs = num(row.time_us);
  const columns = Array.isArray(p['columns']) ? p['columns'] : [];
  const sample = Array.isArray(p['sampleRows']) ? p['sampleRows'] : [];
  return {
    at: iso(timeUs),
    timeUs,
    outcome: row.outcome,
    rowCount: num(row.row_count),
    errorCode: row.error_code === '' ? null : row.error_code,
    errorMessage: optString(p['errorMessage']),
    commandTags: stringList(p['commandTags']),
    columns: columns.map((c) => optString((c as Json | null)?.['name']) ?? ''),
    sampleRows: sample.map((r) => (Array.isArray(r) ? r.map((cell) => optString(cell)) : [])),
    sampleTruncated: p['sampleTruncated'] === true,
    masking: maskingOf(p['masking']),
    targetDurationUs: optNumber(p['durationUs']),
  };
}

function approvalOf(approvalId: string, rows: readonly ReplayRow[]): TranscriptApproval {
  const approval: TranscriptApproval = {
    approvalId,
    requestedAt: null,
    requestedAtUs: null,
    approverGroups: [],
    decisions: [],
    outcome: null,
    resolvedAt: null,
    resolvedAtUs: null,
    decidedBy: [],
  };
  for (const row of rows) {
    const timeUs = num(row.time_us);
    const p = payloadOf(row);
    if (row.event_type === 'ApprovalRequested') {
      approval.requestedAt = iso(timeUs);
      approval.requestedAtUs = timeUs;
      approval.approverGroups = stringList(p['approverGroups']);
    } else if (row.event_type === 'ApprovalDecided') {
      // The approver is the human who decided: the principal, not a delegate.
      approval.decisions.push({ by: row.subject, decision: row.decision, comment: optString(p['comment']), at: iso(timeUs), timeUs });
    } else if (row.event_type === 'ApprovalResolved') {
      approval.outcome = row.outcome;
      approval.resolvedAt = iso(timeUs);
      approval.resolvedAtUs = timeUs;
      approval.decidedBy = stringList(p['decidedBy']);
    }
  }
  return approval;
}

const bySeq = (a: ReplayRow, b: ReplayRow): number => num(a.seq) - num(b.seq) || num(a.time_us) - num(b.time_us);

/**
 * The transcript of `sessionId` from its rows and the rows of the approval chains its requests
 * asked for (other rows are ignored). Requests are in the session's chain order.
 */
export function buildTranscript(sessionId: string, rows: readonly ReplayRow[]): Transcript {
  const seen = new Set<string>();
  const own: ReplayRow[] = [];
  const approvalRows = new Map<string, ReplayRow[]>();
  for (const row of rows) {
    // A producer retry can store an event twice before the table merges it away.
    if (seen.has(row.event_id)) continue;
    seen.add(row.event_id);
    if (row.session_id === sessionId) own.push(row);
    else if (row.event_type.startsWith('Approval')) {
      const list = approvalRows.get(row.session_id) ?? [];
      list.push(row);
      approvalRows.set(row.session_id, list);
    }
  }
  own.sort(bySeq);
  for (const list of approvalRows.values()) list.sort(bySeq);
  // Which approval a request asked for: its ApprovalRequested names the request.
  const approvalOfRequest = new Map<string, string>();
  for (const [approvalId, list] of approvalRows) {
    for (const row of list) if (row.event_type === 'ApprovalRequested') approvalOfRequest.set(row.request_id, approvalId);
  }

  const transcript: Transcript = { sessionId, opened: null, closed: null, requests: [] };
  const requests = new Map<string, TranscriptRequest>();
  for (const row of own) {
    const timeUs = num(row.time_us);
    switch (row.event_type) {
      case 'SessionOpened': {
        const p = payloadOf(row);
        transcript.opened = {
          at: iso(timeUs),
          timeUs,
          subject: row.subject,
          actor: row.actor,
          actorChain: [...row.actor_chain],
          protocol: row.protocol,
          connection: row.connection,
          clientAddress: optString(p['clientAddress']),
          clientApplication: optString(p['clientApplication']),
          targetDatabase: optString(p['targetDatabase']),
          targetUser: optString(p['targetUser']),
        };
        break;
      }
      case 'SessionClosed': {
        const p = payloadOf(row);
        transcript.closed = {
          at: iso(timeUs),
          timeUs,
          reason: row.outcome,
          errorCode: row.error_code === '' ? null : row.error_code,
          requestCount: optNumber(p['requestCount']),
        };
        break;
      }
      case 'RequestObserved': {
        // Requests without SQL text carry what they asked for in the payload's detail.
        const { statementKind, text, ...detail } =
          row.sql_text === '' ? requestDetail(row, payloadOf(row)) : { statementKind: row.statement_kind, text: row.sql_text };
        const request: TranscriptRequest = {
          requestId: row.request_id,
          seq: num(row.seq),
          at: iso(timeUs),
          timeUs,
          statementKind,
          text,
          verdict: null,
          verdicts: [],
          approval: null,
          response: null,
          durationUs: null,
          ...detail,
        };
        requests.set(row.request_id, request);
        transcript.requests.push(request);
        break;
      }
      case 'VerdictIssued': {
        const request = requests.get(row.request_id);
        if (request === undefined) break;
        const verdict = verdictOf(row);
        if (request.mcp !== undefined) verdict.visibleTools = stringList(payloadOf(row)['visibleTools']);
        request.verdicts.push(verdict);
        if (!verdict.shadow) request.verdict = verdict;
        break;
      }
      case 'ResponseObserved': {
        const request = requests.get(row.request_id);
        if (request === undefined) break;
        request.response = responseOf(row);
        if (request.ssh !== undefined) sshResponseFields(request.response, payloadOf(row));
        if (request.http !== undefined || request.mcp !== undefined) Object.assign(request.response, responseBodyOf(payloadOf(row)));
        request.durationUs = request.response.timeUs - request.timeUs;
        break;
      }
      case 'TerminalRecorded': {
        const request = requests.get(row.request_id);
        if (request === undefined) break;
        const terminal = request.terminal ?? { batches: 0, frames: 0, masking: [] };
        terminal.batches++;
        terminal.frames += num(row.row_count);
        for (const m of maskingOf(payloadOf(row)['masking'])) {
          const known = terminal.masking.find((k) => k.key === m.key);
          if (known === undefined) terminal.masking.push(m);
          else known.count += m.count;
        }
        request.terminal = terminal;
        break;
      }
      default:
        break;
    }
  }
  for (const request of transcript.requests) {
    // A tools/list's line counts the tools shown, which its live verdict decided.
    if (request.mcp !== undefined) request.text = mcpText(request.mcp, request.verdict?.visibleTools ?? null);
    // The ApprovalRequested names the request that asked; a request that used a window grant
    // names the approval only in its pending verdict.
    const approvalId = approvalOfRequest.get(request.requestId) ?? approvalIdOfVerdicts(own, request.requestId);
    const list = approvalId === undefined ? undefined : approvalRows.get(approvalId);
    if (approvalId !== undefined && list !== undefined) request.approval = approvalOf(approvalId, list);
  }
  return transcript;
}

/** The kind, one-line text and detail of a request recorded without SQL text (SSH, HTTP, MCP). */
function requestDetail(row: ReplayRow, p: Json): Pick<TranscriptRequest, 'statementKind' | 'text' | 'ssh' | 'http' | 'mcp'> {
  const ssh = sshRequestOf(p);
  if (ssh !== null) return { statementKind: sshKind(ssh), text: sshText(ssh), ssh };
  const http = httpRequestOf(p);
  if (http !== null) return { statementKind: 'http', text: httpText(http), http };
  const mcp = mcpRequestOf(p);
  if (mcp !== null) return { statementKind: 'mcp', text: mcpText(mcp, null), mcp };
  return { statementKind: row.statement_kind, text: row.sql_text };
}

function approvalIdOfVerdicts(own: readonly ReplayRow[], requestId: string): string | undefined {
  for (const row of own) {
    if (row.event_type !== 'VerdictIssued' || row.request_id !== requestId) continue;
    const id = optString(payloadOf(row)['approvalId']);
    if (id !== null) return id;
  }
  return undefined;
}

// Recorded texts may hold terminal control sequences (an agent can send anything): shown escaped,
// so printing a transcript cannot drive the auditor's terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function oneLine(text: string): string {
  return printable(text).replace(/\r?\n/g, '\\n');
}

function ms(us: number): string {
  return `${(us / 1000).toFixed(1)} ms`;
}

function verdictLine(v: TranscriptVerdict): string {
  const rule = v.ruleId === null ? 'no rule' : `rule ${oneLine(v.ruleId)}`;
  const reason = v.reason === null || v.reason === '' ? '' : `: ${oneLine(v.reason)}`;
  const what = `${oneLine(v.decision)} (${rule}, policy ${oneLine(v.policyVersion)})${reason}`;
  return v.shadow ? `shadow verdict (not enforced): ${what}` : `verdict: ${what}`;
}

function approvalLines(a: TranscriptApproval): string[] {
  const groups = a.approverGroups.length > 0 ? ` from ${a.approverGroups.map(oneLine).join(', ')}` : '';
  const lines = [`approval ${oneLine(a.approvalId)}: requested${a.requestedAt === null ? '' : ` at ${a.requestedAt}`}${groups}`];
  for (const d of a.decisions) {
    const comment = d.comment === null || d.comment === '' ? '' : ` ("${oneLine(d.comment)}")`;
    lines.push(`  ${oneLine(d.decision)} by ${oneLine(d.by)} at ${d.at}${comment}`);
  }
  lines.push(
    a.outcome === null
      ? '  undecided'
      : `  ${oneLine(a.outcome)} at ${a.resolvedAt ?? '?'}${a.decidedBy.length > 0 ? ` (decided by ${a.decidedBy.map(oneLine).join(', ')})` : ''}`,
  );
  return lines;
}

function sampleLines(r: TranscriptResponse): string[] {
  if (r.sampleRows.length === 0) return [];
  const cell = (c: string | null): string => (c === null ? 'NULL' : oneLine(c));
  const shown = r.sampleRows.length;
  const lines = [`sample (${shown} of ${r.rowCount} rows${r.sampleTruncated ? ', truncated' : ''}, as the agent saw them):`];
  if (r.columns.length > 0) lines.push(`  | ${r.columns.map(cell).join(' | ')} |`);
  for (const row of r.sampleRows) lines.push(`  | ${row.map(cell).join(' | ')} |`);
  return lines;
}

function sshResponseLines(r: TranscriptResponse, timing: string): string[] {
  const error = r.errorCode === null ? '' : ` ${oneLine(r.errorCode)}${r.errorMessage === null ? '' : `: ${oneLine(r.errorMessage)}`}`;
  const exit = [
    r.exitStatus === null || r.exitStatus === undefined ? undefined : `exit ${r.exitStatus}`,
    r.exitSignal === null || r.exitSignal === undefined ? undefined : `signal ${oneLine(r.exitSignal)}`,
  ].filter((t) => t !== undefined);
  const lines = [`response: ${oneLine(r.outcome)}${error}${exit.length > 0 ? `, ${exit.join(', ')}` : ''}${timing}`];
  const streams = r.streams ?? [];
  if (streams.length > 0) lines.push(`streams: ${streams.map((s) => `${oneLine(s.name)} ${s.bytes} bytes`).join(', ')}`);
  if (r.masking.length > 0) lines.push(`masked: ${r.masking.map((m) => `${oneLine(m.key)} x${m.count}`).join(', ')}`);
  return lines;
}

function terminalLines(sessionId: string, requestId: string, t: TranscriptTerminal): string[] {
  const lines = [
    `terminal: ${t.frames} frame${t.frames === 1 ? '' : 's'} in ${t.batches} batch${t.batches === 1 ? '' : 'es'}` +
      ` (agentgate replay ${oneLine(sessionId)} --request ${oneLine(requestId)} --screen | --play | --cast <file>)`,
  ];
  if (t.masking.length > 0) lines.push(`terminal masked: ${t.masking.map((m) => `${oneLine(m.key)} x${m.count}`).join(', ')}`);
  return lines;
}

function responseLines(r: TranscriptResponse, durationUs: number | null, request: TranscriptRequest): string[] {
  const error = r.errorCode === null ? '' : ` ${oneLine(r.errorCode)}${r.errorMessage === null ? '' : `: ${oneLine(r.errorMessage)}`}`;
  const timing = [
    durationUs === null ? undefined : `${ms(durationUs)} from request to response`,
    r.targetDurationUs === null ? undefined : `${ms(r.targetDurationUs)} at the target`,
  ].filter((t) => t !== undefined);
  const timed = timing.length > 0 ? ` (${timing.join(', ')})` : '';
  if (request.ssh !== undefined) return sshResponseLines(r, timed);
  const body: TranscriptBody = { httpStatus: r.httpStatus ?? null, bytes: r.bytes ?? 0, bodySample: r.bodySample ?? null };
  // Their lines come unescaped (recorded values throughout): escaped here like every other line.
  if (request.http !== undefined) return httpResponseLines(r, body, timed).map(oneLine);
  if (request.mcp !== undefined) return mcpResponseLines(r, body, timed).map(oneLine);
  const lines = [
    `response: ${oneLine(r.outcome)}${error}, ${r.rowCount} row${r.rowCount === 1 ? '' : 's'}${timing.length > 0 ? ` (${timing.join(', ')})` : ''}`,
  ];
  if (r.masking.length > 0) lines.push(`masked: ${r.masking.map((m) => `${oneLine(m.key)} x${m.count}`).join(', ')}`);
  return [...lines, ...sampleLines(r)];
}

/** The transcript as readable text, one block per request; control characters are shown escaped. */
export function transcriptText(t: Transcript): string {
  const out: string[] = [`Session ${oneLine(t.sessionId)}`];
  const o = t.opened;
  if (o === null) out.push('opened: not recorded');
  else {
    const who = o.actor !== o.subject && o.actor !== '' ? `${oneLine(o.actor)} on behalf of ${oneLine(o.subject)}` : oneLine(o.subject);
    const chain = o.actorChain.length > 1 ? ` (delegation: ${o.actorChain.map(oneLine).join(' -> ')})` : '';
    const from = [o.clientAddress, o.clientApplication].filter((v): v is string => v !== null && v !== '').map(oneLine);
    out.push(`opened ${o.at} by ${who}${chain}`);
    out.push(
      `  connection ${oneLine(o.connection)} (${oneLine(o.protocol)}${o.targetDatabase === null ? '' : `, database ${oneLine(o.targetDatabase)}`}${o.targetUser === null ? '' : ` as ${oneLine(o.targetUser)}`})${from.length > 0 ? ` from ${from.join(', ')}` : ''}`,
    );
  }
  t.requests.forEach((r, i) => {
    out.push('');
    out.push(`#${i + 1} ${r.at} ${oneLine(r.statementKind) || 'request'} (seq ${r.seq}, request ${oneLine(r.requestId)})`);
    for (const line of printable(r.text).split(/\r?\n/)) out.push(`  > ${line}`);
    if (r.mcp !== undefined) for (const line of mcpDetailLines(r.mcp, r.verdict?.visibleTools ?? null)) out.push(`  ${oneLine(line)}`);
    if (r.verdicts.length === 0) out.push('  verdict: none recorded');
    for (const v of r.verdicts) out.push(`  ${verdictLine(v)}`);
    if (r.approval !== null) for (const line of approvalLines(r.approval)) out.push(`  ${line}`);
    if (r.response === null) out.push('  response: none recorded');
    else for (const line of responseLines(r.response, r.durationUs, r)) out.push(`  ${line}`);
    if (r.terminal !== undefined) for (const line of terminalLines(t.sessionId, r.requestId, r.terminal)) out.push(`  ${line}`);
  });
  out.push('');
  const c = t.closed;
  out.push(
    c === null
      ? 'closed: not recorded (still open, or its end was not projected yet)'
      : `closed ${c.at}: ${oneLine(c.reason)}${c.errorCode === null ? '' : ` (${oneLine(c.errorCode)})`}${c.requestCount === null ? '' : `, ${c.requestCount} requests`}`,
  );
  return `${out.join('\n')}\n`;
}

/**
 * The query for a session's replay rows: its own chain, and the chains of the approvals its
 * requests asked for (named by their ApprovalRequested, or by a verdict that used a grant).
 * No FINAL (18.16 refuses it beside an IN subquery on the same table): buildTranscript drops
 * the duplicate rows a merge has not collapsed yet, by event id.
 * Takes SQL fragments ALREADY QUOTED by @agentgate/clickhouse (quoteIdentifier, quoteString):
 * this library escapes nothing itself, so the one escaping function stays the only one.
 */
export function replayQuery(quoted: { database: string; session: string }): string {
  const events = `${quoted.database}.events`;
  const requests = `SELECT request_id FROM ${events} WHERE session_id = ${quoted.session} AND event_type = 'RequestObserved'`;
  return (
    `SELECT ${REPLAY_COLUMNS.join(', ')} FROM ${events} WHERE session_id = ${quoted.session}` +
    ` OR session_id IN (SELECT session_id FROM ${events} WHERE event_type = 'ApprovalRequested' AND request_id IN (${requests}))` +
    ` OR session_id IN (SELECT visitParamExtractString(payload_json, 'approvalId') FROM ${events}` +
    ` WHERE session_id = ${quoted.session} AND event_type = 'VerdictIssued')` +
    ' ORDER BY session_id, seq'
  );
}
