// Usage for the guardrails (budget and rate rules): a pure projection of the audit log.
// evolveUsage(state, event) is fed every RequestObserved (one statement each) and
// ResponseObserved (rows, read or written by its command tags); usageFor sums a sliding window
// ending at the request's time. The counts come from the log, so they survive restarts and are
// the same on every processor instance that reads it.
import type { AuditEvent } from '@agentgate/events';

export interface UsageCounts {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

interface Entry extends UsageCounts {
  timeUs: number;
}

/** Sealed entries of a key, with their time range and sums, so a window covering it all adds the sums. */
interface Chunk extends UsageCounts {
  readonly entries: readonly Entry[];
  readonly minUs: number;
  readonly maxUs: number;
}

/**
 * One key's entries: sealed chunks plus the most recent entries. Folding an event copies at
 * most RECENT_MAX entries (and, every SEAL_SIZE events, the list of chunks), and a window sum
 * reads each chunk's sums except at the window's edges: a key with tens of thousands of entries
 * costs microseconds, where copying and scanning all of them per event cost the processor a
 * fifth of its CPU (docs/benchmarks.md). Entries arrive nearly but not exactly in time order
 * (partitions interleave), so chunks keep their own time range rather than assume one.
 */
export interface KeyUsage {
  readonly sealed: readonly Chunk[];
  readonly recent: readonly Entry[];
}

const SEAL_SIZE = 64;
const RECENT_MAX = 2 * SEAL_SIZE;

export interface UsageState {
  /** Per key (see usageKey). */
  readonly entries: ReadonlyMap<string, KeyUsage>;
  /** Requests awaiting their response: whose usage the rows count against. */
  readonly pending: ReadonlyMap<string, { keys: readonly string[]; timeUs: number }>;
  /** Entries older than this (before the newest event) are dropped. */
  readonly retentionUs: number;
  readonly latestUs: number;
}

/** An empty usage state; `retentionUs` must cover the longest guardrail window (default 1 day). */
export function initialUsage(retentionUs = 86_400_000_000): UsageState {
  return { entries: new Map(), pending: new Map(), retentionUs, latestUs: 0 };
}

/** The usage key of an identity on a connection: `actor:<agent>@<connection>` or `subject:...`. */
export function usageKey(per: 'actor' | 'subject', who: string, connection: string | null): string {
  return `${per}:${who}@${connection ?? ''}`;
}

function keysOf(event: AuditEvent, connection: string | null): string[] {
  if (!event.actor) return [];
  const agent = event.actor.actChain[0]?.subject ?? event.actor.subject;
  return [usageKey('actor', agent, connection), usageKey('subject', event.actor.subject, connection)];
}

// Command tags that report rows read, and those that report rows written (PostgreSQL's
// CommandComplete: "SELECT n", "INSERT oid n", "UPDATE n", ...). COPY counts as both: its tag
// does not say the direction.
const READ_TAGS = new Set(['SELECT', 'FETCH', 'COPY']);
const WRITE_TAGS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

/** Rows read and written, from a response's command tags (rowCount when no tag has a count). */
export function rowsOf(commandTags: readonly string[], rowCount: number): { rowsRead: number; rowsWritten: number } {
  let rowsRead = 0;
  let rowsWritten = 0;
  let counted = false;
  for (const tag of commandTags) {
    const words = tag.trim().split(/\s+/);
    const verb = words[0]?.toUpperCase() ?? '';
    const n = Number(words[words.length - 1]);
    if (words.length < 2 || !Number.isFinite(n)) continue;
    counted = true;
    if (READ_TAGS.has(verb)) rowsRead += n;
    if (WRITE_TAGS.has(verb)) rowsWritten += n;
  }
  if (!counted) rowsRead = rowCount;
  return { rowsRead, rowsWritten };
}

function seal(entries: readonly Entry[]): Chunk {
  let minUs = Number.POSITIVE_INFINITY;
  let maxUs = Number.NEGATIVE_INFINITY;
  const sums: UsageCounts = { statements: 0, rowsRead: 0, rowsWritten: 0 };
  for (const e of entries) {
    minUs = Math.min(minUs, e.timeUs);
    maxUs = Math.max(maxUs, e.timeUs);
    sums.statements += e.statements;
    sums.rowsRead += e.rowsRead;
    sums.rowsWritten += e.rowsWritten;
  }
  return { entries, minUs, maxUs, ...sums };
}

function add(entries: Map<string, KeyUsage>, key: string, entry: Entry, horizon: number): void {
  const log = entries.get(key) ?? { sealed: [], recent: [] };
  const recent = log.recent.filter((e) => e.timeUs >= horizon);
  recent.push(entry);
  if (recent.length <= RECENT_MAX) {
    entries.set(key, { sealed: log.sealed, recent });
    return;
  }
  // Chunks wholly older than the horizon go when the next chunk is sealed.
  const sealed = log.sealed.filter((c) => c.maxUs >= horizon);
  sealed.push(seal(recent.slice(0, SEAL_SIZE)));
  entries.set(key, { sealed, recent: recent.slice(SEAL_SIZE) });
}

/** How many entries the state keeps for `key` (retention is applied as chunks are sealed). */
export function retainedEntries(state: UsageState, key: string): number {
  const log = state.entries.get(key);
  if (!log) return 0;
  let n = log.recent.length;
  for (const c of log.sealed) n += c.entries.length;
  return n;
}

/** Folds one audit event into the usage state (pure: returns a new state). */
export function evolveUsage(state: UsageState, event: AuditEvent): UsageState {
  switch (event.eventType) {
    case 'RequestObserved': {
      const keys = keysOf(event, event.payload.connection);
      if (keys.length === 0) return state;
      const latestUs = Math.max(state.latestUs, event.timeUs);
      const horizon = latestUs - state.retentionUs;
      const entries = new Map(state.entries);
      for (const k of keys) add(entries, k, { timeUs: event.timeUs, statements: 1, rowsRead: 0, rowsWritten: 0 }, horizon);
      const pending = new Map(state.pending);
      pending.set(event.payload.requestId, { keys, timeUs: event.timeUs });
      for (const [id, p] of pending) if (p.timeUs < horizon) pending.delete(id);
      return { ...state, entries, pending, latestUs };
    }
    case 'ResponseObserved': {
      const p = state.pending.get(event.payload.requestId);
      if (!p) return state;
      const pending = new Map(state.pending);
      pending.delete(event.payload.requestId);
      const rows = rowsOf(event.payload.commandTags, event.payload.rowCount);
      if (rows.rowsRead === 0 && rows.rowsWritten === 0) return { ...state, pending };
      const latestUs = Math.max(state.latestUs, event.timeUs);
      const entries = new Map(state.entries);
      // Rows count at the response's time: that is when they were read or written.
      for (const k of p.keys) add(entries, k, { timeUs: event.timeUs, statements: 0, ...rows }, latestUs - state.retentionUs);
      return { ...state, entries, pending, latestUs };
    }
    case 'SessionOpened':
    case 'VerdictIssued':
    case 'SessionClosed':
    case 'SessionKillRequested':
    case 'ApprovalRequested':
    case 'ApprovalDecided':
    case 'ApprovalResolved':
    case 'GrantUsed':
    case 'BlastRadiusEstimated':
    case 'CheckpointSigned':
    case 'LegalHoldChanged':
    case 'RetentionApplied':
    case 'TerminalRecorded':
      return state;
    default: {
      const never: never = event;
      throw new Error(`unknown event ${String((never as AuditEvent).eventType)}`);
    }
  }
}

/** Usage of `key` in the window (nowUs - windowUs, nowUs]. */
export function usageFor(state: UsageState, key: string, nowUs: number, windowUs: number): UsageCounts {
  const out: UsageCounts = { statements: 0, rowsRead: 0, rowsWritten: 0 };
  const log = state.entries.get(key);
  if (!log) return out;
  const from = nowUs - windowUs;
  const count = (e: UsageCounts): void => {
    out.statements += e.statements;
    out.rowsRead += e.rowsRead;
    out.rowsWritten += e.rowsWritten;
  };
  for (const chunk of log.sealed) {
    if (chunk.maxUs <= from || chunk.minUs > nowUs) continue;
    if (chunk.minUs > from && chunk.maxUs <= nowUs) {
      count(chunk);
      continue;
    }
    for (const e of chunk.entries) if (e.timeUs > from && e.timeUs <= nowUs) count(e);
  }
  for (const e of log.recent) if (e.timeUs > from && e.timeUs <= nowUs) count(e);
  return out;
}
