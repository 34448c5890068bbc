// How `agentgate approvals` prints the approval service's answers. Pure: documents and the
// current time in, text out. The service's API is young, so every reader here is tolerant:
// a missing field prints as "-", an unknown one is still shown.
import { ERROR_CODES, type ErrorCode } from '@agentgate/errors';
import type { Problem } from './approvals-client.js';
import { EXIT, hintFor, type ExitCode } from './exit-codes.js';
import { table, utc } from './output.js';

type Doc = Record<string, unknown>;

const STATEMENT_COLUMN = 60;
/** Fields shown first, in this order; any others follow in the service's order. */
const VIEW_ORDER = [
  'id',
  'status',
  'requester',
  'actChain',
  'connection',
  'ruleId',
  'reason',
  'text',
  'requestedAt',
  'expiresAt',
  'approvals',
  'quorum',
];
const BLOCK_FIELDS = new Set(['text', 'statement', 'sql']);

function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A time field as a Date: ISO text, or epoch seconds, milliseconds or microseconds by magnitude. */
export function timeOf(value: unknown): Date | undefined {
  let ms: number;
  if (typeof value === 'string' && value !== '') ms = Date.parse(value);
  else if (typeof value === 'number' && Number.isFinite(value)) {
    if (value > 1e14) ms = value / 1000;
    else if (value > 1e11) ms = value;
    else ms = value * 1000;
  } else return undefined;
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** "in 14 min", "3 h ago": the distance from now, for a human. */
export function relative(date: Date, nowMs: number): string {
  const diff = date.getTime() - nowMs;
  const abs = Math.abs(diff);
  if (abs < 1000) return 'now';
  const span =
    abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 7_200_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return diff >= 0 ? `in ${span}` : `${span} ago`;
}

function when(value: unknown, nowMs: number): string {
  const date = timeOf(value);
  return date === undefined ? scalar(value) : `${utc(date)} UTC (${relative(date, nowMs)})`;
}

function scalar(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A delegation link as a name: a string, or an object's subject. */
function linkName(link: unknown): string {
  if (typeof link === 'string') return link;
  if (isDoc(link) && typeof link['subject'] === 'string') return link['subject'];
  return scalar(link);
}

/** "dba-agent for alice": the current actor (first in the chain) and the principal. */
export function requesterOf(doc: Doc): string {
  const requester = scalar(doc['requester']);
  const chain = Array.isArray(doc['actChain']) ? doc['actChain'].map(linkName) : [];
  const [current, ...earlier] = chain;
  if (current === undefined) return requester;
  return `${current} for ${requester}${earlier.length > 0 ? ` via ${earlier.join(', ')}` : ''}`;
}

/** "1/2": approvals so far of the quorum; tolerant of counts, lists and per-group quorums. */
export function progressOf(doc: Doc): string {
  const a = doc['approvals'];
  const got = Array.isArray(a) ? a.length : typeof a === 'number' ? a : undefined;
  const q = doc['quorum'];
  let need: string;
  if (typeof q === 'number') need = String(q);
  else if (isDoc(q))
    need = Object.entries(q)
      .map(([group, n]) => `${group}:${scalar(n)}`)
      .join(' ');
  else need = '-';
  return `${got ?? '-'}/${need}`;
}

/** One line of a statement for a table cell. */
export function oneLine(text: unknown, max = STATEMENT_COLUMN): string {
  const line = scalar(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The `approvals list` table. */
export function formatList(summaries: readonly unknown[], nowMs: number): string {
  const rows = summaries.filter(isDoc).map((s) => {
    const expires = timeOf(s['expiresAt']);
    return [
      scalar(s['id']),
      scalar(s['status']),
      requesterOf(s),
      scalar(s['connection']),
      scalar(s['ruleId']),
      progressOf(s),
      expires === undefined ? scalar(s['expiresAt']) : relative(expires, nowMs),
      oneLine(s['text']),
    ];
  });
  return table(['id', 'status', 'requester', 'connection', 'rule', 'approvals', 'expires', 'statement'], rows);
}

function lines(key: string, value: unknown, indent: string, width: number, nowMs: number): string[] {
  const label = `${indent}${key.padEnd(width)}  `;
  if (BLOCK_FIELDS.has(key) && typeof value === 'string') {
    return [`${indent}${key}`, ...value.split('\n').map((l) => `${indent}  ${l}`)];
  }
  if (/At(Us)?$/.test(key) && (typeof value === 'string' || typeof value === 'number')) return [`${label}${when(value, nowMs)}`];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${label}(none)`];
    if (value.every((v) => !isDoc(v) && !Array.isArray(v))) return [`${label}${value.map(scalar).join(', ')}`];
    const out = [`${indent}${key}`];
    for (const item of value) {
      const nested = isDoc(item) ? docLines(item, `${indent}    `, nowMs) : [`${indent}    ${scalar(item)}`];
      // "- " marks where each item starts; its fields line up under it.
      out.push(`${indent}  - ${(nested[0] ?? '').slice(indent.length + 4)}`, ...nested.slice(1));
    }
    return out;
  }
  if (isDoc(value)) {
    const nested = docLines(value, `${indent}  `, nowMs);
    return nested.length === 0 ? [`${label}(none)`] : [`${indent}${key}`, ...nested];
  }
  if (typeof value === 'string' && value.includes('\n')) return [`${indent}${key}`, ...value.split('\n').map((l) => `${indent}  ${l}`)];
  return [`${label}${scalar(value)}`];
}

function docLines(doc: Doc, indent: string, nowMs: number): string[] {
  const keys = Object.keys(doc);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.flatMap((k) => lines(k, doc[k], indent, width, nowMs));
}

/** `approvals show`: every top-level field, nested objects indented under their name. */
export function formatView(view: unknown, nowMs: number): string {
  if (!isDoc(view)) return `${scalar(view)}\n`;
  const ordered: Doc = {};
  for (const key of VIEW_ORDER) if (key in view) ordered[key] = view[key];
  for (const [key, value] of Object.entries(view)) if (!(key in ordered)) ordered[key] = value;
  return `${docLines(ordered, '', nowMs).join('\n')}\n`;
}

/** The line after a decision: what was recorded and where the request stands now. */
export function formatDecided(verdict: 'approve' | 'deny', id: string, view: unknown): string {
  const status = isDoc(view) ? scalar(view['status']) : '-';
  return `${verdict === 'approve' ? 'approved' : 'denied'} ${id}; the request is now ${status}\n`;
}

/** stderr for a problem answer: "<code>: <detail>", then what to do next where there is something. */
export function formatProblem(command: string, problem: Problem): string {
  const hint = problemHint(problem.code);
  return `agentgate ${command}: ${problem.code}: ${problem.detail}\n${hint === undefined ? '' : `  ${hint}\n`}`;
}

function problemHint(code: string): string | undefined {
  if (code === 'AG_ERR_UNAUTHENTICATED') return 'get a fresh token: export AGENTGATE_TOKEN=$(npx agentgate token <identity>)';
  if (code === 'AG_ERR_APPROVAL_FORBIDDEN')
    return "only members of the rule's approver groups decide; `npx agentgate whoami` shows your groups";
  if (code === 'AG_ERR_APPROVAL_NOT_FOUND') return '`npx agentgate approvals list --all` lists the requests';
  return Object.hasOwn(ERROR_CODES, code) ? hintFor(code as ErrorCode) : undefined;
}

/**
 * The exit code for a problem answer: a request the command line got wrong (a malformed or
 * unknown id) is a usage error, like an unknown connection; a refusal or a failure is 1.
 */
export function problemExitCode(problem: Problem): ExitCode {
  if (problem.code === 'AG_ERR_BAD_REQUEST' || problem.code === 'AG_ERR_APPROVAL_NOT_FOUND') return EXIT.usage;
  if (problem.code.startsWith('HTTP ') && (problem.status === 400 || problem.status === 404)) return EXIT.usage;
  return EXIT.failure;
}
