// An SSH session's recorded terminal, read back from its rows in agentgate.events: the shell
// request (pty size and start time, from its RequestObserved's payload_json) and the frames of
// its TerminalRecorded events in chain order. Pure; the CLI turns it into a .cast file, a final
// screen or a timed playback.
import type { ReplayRow } from './replay.js';
import { sshRequestOf } from './ssh-request.js';

/** The columns terminalQuery selects. */
export type TerminalRow = Pick<ReplayRow, 'event_id' | 'event_type' | 'session_id' | 'seq' | 'time_us' | 'request_id' | 'payload_json'>;

/** The columns a terminal needs, in TerminalRow's order (for the SELECT list). */
export const TERMINAL_COLUMNS: readonly (keyof TerminalRow)[] = [
  'event_id',
  'event_type',
  'session_id',
  'seq',
  'time_us',
  'request_id',
  'payload_json',
];

/** One asciicast v2 event as recorded: o output, i input, r resize ("COLSxROWS"). */
export interface SessionTerminalFrame {
  offsetUs: number;
  kind: 'o' | 'i' | 'r';
  data: string;
}

/** One request's terminal. */
export interface SessionTerminal {
  requestId: string;
  /** When the shell request was observed (frame offsets count from it); null when its RequestObserved is not stored. */
  startUs: number | null;
  ptyTerm: string | null;
  ptyCols: number | null;
  ptyRows: number | null;
  /** Every frame of every TerminalRecorded of the request, in chain order. */
  frames: SessionTerminalFrame[];
  /** How many TerminalRecorded events held them. */
  batches: number;
}

/**
 * The query for a session's terminal rows: its RequestObserved and TerminalRecorded events.
 * Takes SQL fragments ALREADY QUOTED by @agentgate/clickhouse (quoteIdentifier, quoteString).
 */
export function terminalQuery(quoted: { database: string; session: string }): string {
  return (
    `SELECT ${TERMINAL_COLUMNS.join(', ')} FROM ${quoted.database}.events WHERE session_id = ${quoted.session}` +
    " AND event_type IN ('RequestObserved', 'TerminalRecorded') ORDER BY seq"
  );
}

type Json = Record<string, unknown>;

function payloadOf(row: TerminalRow): Json {
  try {
    const value: unknown = JSON.parse(row.payload_json);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
  } catch {
    return {};
  }
}

const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

function framesOf(payload: Json): SessionTerminalFrame[] {
  const frames = Array.isArray(payload['frames']) ? payload['frames'] : [];
  const out: SessionTerminalFrame[] = [];
  for (const f of frames) {
    if (f === null || typeof f !== 'object') continue;
    const { offsetUs, kind, data } = f as Json;
    if (typeof offsetUs !== 'number' || typeof data !== 'string' || (kind !== 'o' && kind !== 'i' && kind !== 'r')) continue;
    out.push({ offsetUs, kind, data });
  }
  return out;
}

function ownRows(sessionId: string, rows: readonly TerminalRow[]): TerminalRow[] {
  const seen = new Set<string>();
  const own: TerminalRow[] = [];
  for (const row of rows) {
    // a producer retry can store an event twice before the table merges it away
    if (row.session_id !== sessionId || seen.has(row.event_id)) continue;
    seen.add(row.event_id);
    own.push(row);
  }
  return own.sort((a, b) => num(a.seq) - num(b.seq));
}

/**
 * The request ids of the session that have a recorded terminal, the default first: shell
 * requests in chain order, then any other request a TerminalRecorded names.
 */
export function terminalRequestIds(sessionId: string, rows: readonly TerminalRow[]): string[] {
  const own = ownRows(sessionId, rows);
  const recorded = new Set(own.filter((r) => r.event_type === 'TerminalRecorded').map((r) => r.request_id));
  const out: string[] = [];
  for (const row of own) {
    if (row.event_type !== 'RequestObserved' || !recorded.has(row.request_id)) continue;
    if (sshRequestOf(payloadOf(row))?.channel === 'shell' && !out.includes(row.request_id)) out.push(row.request_id);
  }
  for (const row of own) if (row.event_type === 'TerminalRecorded' && !out.includes(row.request_id)) out.push(row.request_id);
  return out;
}

/** The terminal of `requestId` (default: the first shell request with one), or undefined when none is recorded. */
export function sessionTerminal(sessionId: string, rows: readonly TerminalRow[], requestId?: string): SessionTerminal | undefined {
  const id = requestId ?? terminalRequestIds(sessionId, rows)[0];
  if (id === undefined) return undefined;
  const terminal: SessionTerminal = { requestId: id, startUs: null, ptyTerm: null, ptyCols: null, ptyRows: null, frames: [], batches: 0 };
  for (const row of ownRows(sessionId, rows)) {
    if (row.request_id !== id) continue;
    if (row.event_type === 'RequestObserved') {
      terminal.startUs = num(row.time_us);
      const ssh = sshRequestOf(payloadOf(row));
      terminal.ptyTerm = ssh?.ptyTerm ?? null;
      terminal.ptyCols = ssh?.ptyCols ?? null;
      terminal.ptyRows = ssh?.ptyRows ?? null;
    } else if (row.event_type === 'TerminalRecorded') {
      terminal.batches++;
      for (const f of framesOf(payloadOf(row))) terminal.frames.push(f);
    }
  }
  return terminal.batches === 0 ? undefined : terminal;
}
