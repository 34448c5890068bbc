// The audit verifier: recomputes every session's hash chain from the stored canonical texts,
// checks every projected column against the text it derives from, checks the signed checkpoint
// chains and compares each session with the latest head a valid checkpoint signed. Pure: rows
// and trusted keys come in, a report goes out; the caller (CLI, API) does the reading.
//
// Rules kept from verifyStoredChain (libs/events/src/hash-chain.ts): an abandoned verdict slot
// (the event after a request, or after a pending verdict, links two back) and shadow verdicts
// (sharing the live verdict's slot, chained onto the request) are legitimate. Unlike it, this
// walk does not stop at the first problem: it names every one.
//
// Retention (services/audit-api) drops whole months, so after a recorded drop (a RetentionApplied
// event with action drop and cutoff C among the rows) the oldest events and checkpoints are
// legitimately gone: a session whose stored events start above seq 0, with its first stored
// event before the end of the month C falls in (the first month that run kept), is `pruned`,
// not missing; a checkpoint chain whose first stored checkpoint covers from C or earlier has no
// gap before it; and heads signed by checkpoints that ended before C need no session any more.
// Without such a record, the same rows fail exactly as before.
import { eventColumns, eventFromCanonicalText } from '@agentgate/audit-store';
import { GatewayError } from '@agentgate/errors';
import { sha256Hex, type ChainHead, type CheckpointSigned } from '@agentgate/events';
import { verifyCheckpointSignature, type TrustedKey } from './checkpoint.js';
import type { CheckedCheckpoint, Finding, FindingKind, VerificationReport } from './findings.js';

/**
 * A row of agentgate.events as ClickHouse returns it in JSONEachRow (UInt64 as strings, other
 * numbers as numbers or strings), or as an export file holds it.
 */
export interface StoredEventRow {
  event_id: string;
  event_type: string;
  session_id: string;
  seq: number | string;
  time_us: number | string;
  prev_hash: string;
  hash: string;
  canonical_text: string;
  id_conflict?: number | string;
  [column: string]: unknown;
}

export interface VerifyInput {
  /**
   * ISO time the scope starts at, or null for everything. The rows are the caller's scope
   * (sessions with events at or after `since`, plus every checkpoint row, plus the sessions
   * a checkpoint covering [since, now] names); `since` only decides which checkpoints' heads
   * must still find their session (missing-session).
   */
  since: string | null;
  rows: readonly StoredEventRow[];
  trustedKeys: readonly TrustedKey[];
}

const CHECKPOINT_PREFIX = 'checkpoint/';

/** Columns about storage (Kafka position, projection time, flags): no event text vouches for them. */
const STORAGE_COLUMNS = new Set([
  'hash',
  'hash_valid',
  'canonical_text',
  'id_conflict',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
  'projected_at',
]);

/** Columns the chain checks report as 'changed' or 'reordered', not as a column mismatch. */
const CHAIN_COLUMNS = new Set(['seq', 'prev_hash']);

/** One event as the chain walk sees it. */
interface Entry {
  seq: number;
  hash: string;
  prevHash: string | null;
  eventType: string;
  eventId: string;
  shadow: boolean;
  /** A verdict that sends its request for approval: its final verdict's slot may be abandoned. */
  pendingApproval: boolean;
  /** The row's text does not hash to its hash: the entry is what the row claims (seq, hash, prev_hash columns). */
  claimed: boolean;
  /** The canonical text (intact entries only). */
  text: string | null;
}

interface ParsedText {
  seq?: unknown;
  prevHash?: unknown;
  eventType?: unknown;
  eventId?: unknown;
  sessionId?: unknown;
  payload?: unknown;
}

/** Row kinds after the text checks. */
type RowState =
  | { state: 'intact'; entry: Entry }
  | { state: 'reordered'; entry: Entry }
  | { state: 'columns-changed'; entry: Entry }
  | { state: 'changed'; entry: Entry };

function parseText(text: string): ParsedText | null {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ParsedText) : null;
  } catch {
    return null;
  }
}

function payloadBranch(parsed: ParsedText, eventType: string): Record<string, unknown> | undefined {
  if (parsed.eventType !== eventType || parsed.payload === null || typeof parsed.payload !== 'object') return undefined;
  const value = Object.values(parsed.payload as Record<string, unknown>)[0];
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function toInt(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return Number.NaN;
}

function entryOfText(parsed: ParsedText, text: string, hash: string): Entry {
  const verdict = payloadBranch(parsed, 'VerdictIssued');
  return {
    seq: typeof parsed.seq === 'number' ? parsed.seq : Number.NaN,
    hash,
    prevHash: typeof parsed.prevHash === 'string' ? parsed.prevHash : null,
    eventType: typeof parsed.eventType === 'string' ? parsed.eventType : '',
    eventId: typeof parsed.eventId === 'string' ? parsed.eventId : '',
    shadow: verdict?.['shadow'] === true,
    pendingApproval: verdict?.['decision'] === 'pending_approval',
    claimed: false,
    text,
  };
}

function claimedEntry(row: StoredEventRow, parsed: ParsedText | null): Entry {
  const fromText = parsed ? entryOfText(parsed, row.canonical_text, row.hash) : undefined;
  return {
    seq: toInt(row.seq),
    hash: row.hash,
    prevHash: row.prev_hash === '' ? null : row.prev_hash,
    eventType: row.event_type,
    eventId: row.event_id,
    // The text may be edited; the shape flags come from it when it still parses.
    shadow: fromText?.shadow ?? false,
    pendingApproval: fromText?.pendingApproval ?? false,
    claimed: true,
    text: null,
  };
}

/** Findings collected once each (kind, session, seq, column). */
class FindingSet {
  private readonly byKey = new Map<string, Finding>();
  private readonly kindsBySession = new Map<string, Set<FindingKind>>();
  add(kind: FindingKind, sessionId: string, seq: number | undefined, detail: string, column?: string): void {
    const key = `${kind}\u0000${sessionId}\u0000${seq ?? ''}\u0000${column ?? ''}`;
    if (this.byKey.has(key)) return;
    const kinds = this.kindsBySession.get(sessionId) ?? new Set<FindingKind>();
    kinds.add(kind);
    this.kindsBySession.set(sessionId, kinds);
    const finding: Finding = { kind, sessionId, detail };
    if (seq !== undefined && Number.isFinite(seq)) finding.seq = seq;
    if (column !== undefined) finding.column = column;
    this.byKey.set(key, finding);
  }
  sessionHas(sessionId: string, kinds: readonly FindingKind[]): boolean {
    const found = this.kindsBySession.get(sessionId);
    return found !== undefined && kinds.some((k) => found.has(k));
  }
  sorted(): Finding[] {
    return [...this.byKey.values()].sort(
      (a, b) =>
        cmp(a.sessionId, b.sessionId) || (a.seq ?? -1) - (b.seq ?? -1) || cmp(a.kind, b.kind) || cmp(a.column ?? '', b.column ?? ''),
    );
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a stored cell holds the value the event gives, whatever JSON shape ClickHouse chose. */
export function cellMatches(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected)) {
    let list = actual;
    if (typeof actual === 'string' && actual.startsWith('[')) {
      try {
        list = JSON.parse(actual) as unknown;
      } catch {
        return false;
      }
    }
    return Array.isArray(list) && list.length === expected.length && expected.every((e, i) => cellMatches(e, list[i]));
  }
  if (typeof expected === 'number') {
    if (typeof actual === 'number') return actual === expected;
    if (typeof actual === 'string' && /^-?\d+(\.\d+)?$/.test(actual)) {
      // UInt64 arrives as a decimal string; compare exactly where a double could round.
      return Number.isSafeInteger(expected) && /^-?\d+$/.test(actual) ? BigInt(actual) === BigInt(expected) : Number(actual) === expected;
    }
    if (typeof actual === 'boolean') return (actual ? 1 : 0) === expected;
    return false;
  }
  return typeof actual === 'string' && actual === expected;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Sessions the heads of checkpoints covering [sinceUs, ...] name; for the caller's scope (see VerifyInput.since). */
export function checkpointNamedSessions(rows: readonly StoredEventRow[], sinceUs: number | null): string[] {
  const names = new Set<string>();
  for (const row of rows) {
    if (row.event_type !== 'CheckpointSigned' || !row.session_id.startsWith(CHECKPOINT_PREFIX)) continue;
    // Unverified on purpose: the scope takes every name; verifyAudit decides which heads count.
    const checkpoint = checkpointOf(row);
    if (checkpoint === undefined || (sinceUs !== null && checkpoint.coveredUntilUs < sinceUs)) continue;
    for (const head of checkpoint.heads) names.add(head.sessionId);
  }
  return [...names].sort();
}

function checkpointOf(row: StoredEventRow): CheckpointSigned | undefined {
  try {
    const event = eventFromCanonicalText(row.canonical_text, row.hash);
    return event.eventType === 'CheckpointSigned' ? event.payload : undefined;
  } catch {
    return undefined;
  }
}

/** Microseconds since the epoch of an ISO time; throws AG_ERR_BAD_REQUEST for anything else. */
export function isoToUs(iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new GatewayError('AG_ERR_BAD_REQUEST', `not an ISO time: ${show(iso)}`);
  return ms * 1000;
}

/** A row's identity for dropping exact duplicates (unmerged parts, an export read twice). */
function rowKey(row: StoredEventRow): string {
  const keys = Object.keys(row)
    .filter((k) => k === 'hash' || k === 'canonical_text' || !STORAGE_COLUMNS.has(k))
    .sort();
  return JSON.stringify(keys.map((k) => [k, row[k]]));
}

/** Rows without exact duplicates; the full comparison only where the stored event repeats (cheap for the rest). */
function withoutDuplicates(input: readonly StoredEventRow[]): StoredEventRow[] {
  const byEvent = new Map<string, StoredEventRow[]>();
  for (const row of input) {
    const key = `${row.session_id}\u0000${row.seq}\u0000${row.event_id}\u0000${row.hash}`;
    const list = byEvent.get(key);
    if (list === undefined) byEvent.set(key, [row]);
    else list.push(row);
  }
  const rows: StoredEventRow[] = [];
  for (const list of byEvent.values()) {
    if (list.length === 1) rows.push(...list);
    else rows.push(...new Map(list.map((r) => [rowKey(r), r])).values());
  }
  return rows;
}

/**
 * The latest cutoff of a recorded partition drop: the largest cutoffUs of an intact
 * RetentionApplied event with action drop, or null when no drop is recorded.
 */
export function retentionCutoffUs(rows: readonly StoredEventRow[]): number | null {
  let cutoff: number | null = null;
  for (const row of rows) {
    if (row.event_type !== 'RetentionApplied' || sha256Hex(row.canonical_text) !== row.hash) continue;
    let event: ReturnType<typeof eventFromCanonicalText>;
    try {
      event = eventFromCanonicalText(row.canonical_text, row.hash);
    } catch {
      continue;
    }
    if (event.eventType !== 'RetentionApplied' || event.payload.action !== 'drop') continue;
    cutoff = Math.max(cutoff ?? 0, event.payload.cutoffUs);
  }
  return cutoff;
}

/** The end (exclusive, microseconds) of the UTC month a time falls in. */
function monthEndUs(us: number): number {
  const d = new Date(Math.floor(us / 1000));
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) * 1000;
}

/** The first seq still stored, when the rows before it may have been dropped by retention; else null. */
function prunedBelow(
  sessionId: string,
  rows: readonly StoredEventRow[],
  entries: readonly Entry[],
  cutoffUs: number | null,
): number | null {
  if (cutoffUs === null) return null;
  const seqs = entries.map((e) => e.seq).filter((n) => Number.isFinite(n));
  if (seqs.length === 0) return null;
  const first = Math.min(...seqs);
  if (first <= 0) return null;
  const firstRow = rows.find((r) => toInt(r.seq) === first);
  if (firstRow === undefined) return null;
  if (sessionId.startsWith(CHECKPOINT_PREFIX)) {
    const checkpoint = checkpointOf(firstRow);
    return checkpoint !== undefined && checkpoint.coveredFromUs <= cutoffUs ? first : null;
  }
  return toInt(firstRow.time_us) < monthEndUs(cutoffUs) ? first : null;
}

/** Verifies stored audit rows: chains, columns, checkpoints and heads. Pure. */
export function verifyAudit(input: VerifyInput): VerificationReport {
  const sinceUs = input.since === null ? null : isoToUs(input.since);
  const findings = new FindingSet();

  const rows = withoutDuplicates(input.rows);
  const cutoffUs = retentionCutoffUs(rows);

  checkIdConflicts(rows, findings);

  const bySession = new Map<string, StoredEventRow[]>();
  for (const row of rows) {
    const list = bySession.get(row.session_id) ?? [];
    list.push(row);
    bySession.set(row.session_id, list);
  }

  const chains = new Map<string, Map<number, Entry>>();
  const allEntries = new Map<string, Entry[]>();
  const pruned = new Set<string>();
  for (const [sessionId, list] of bySession) {
    const entries = checkSessionRows(sessionId, list, findings);
    allEntries.set(sessionId, entries);
    const below = prunedBelow(sessionId, list, entries, cutoffUs);
    if (below !== null) pruned.add(sessionId);
    chains.set(sessionId, walkChain(sessionId, entries, findings, below));
  }

  const { checkpoints, heads } = checkCheckpoints(bySession, chains, input.trustedKeys, findings);
  checkHeads(bySession, chains, allEntries, heads, sinceUs, findings, { cutoffUs, pruned });

  const sorted = findings.sorted();
  const eventsChecked = rows.length;
  return {
    since: input.since,
    sessionsChecked: bySession.size,
    eventsChecked,
    checkpoints,
    trustedKeys: input.trustedKeys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })),
    findings: sorted,
    ok: eventsChecked > 0 && sorted.every((f) => f.kind === 'uncovered' || f.kind === 'pruned'),
  };
}

/** Two different events under one event id, or a row the projector flagged: both are kept, and named. */
function checkIdConflicts(rows: readonly StoredEventRow[], findings: FindingSet): void {
  const byId = new Map<string, StoredEventRow[]>();
  for (const row of rows) {
    const list = byId.get(row.event_id) ?? [];
    list.push(row);
    byId.set(row.event_id, list);
  }
  for (const [eventId, list] of byId) {
    const hashes = new Set(list.map((r) => r.hash));
    // Without a flag, the first stored (by session, seq) is the original; the others conflict.
    const first = [...list].sort((a, b) => cmp(a.session_id, b.session_id) || toInt(a.seq) - toInt(b.seq))[0];
    for (const row of list) {
      const flagged = toInt(row.id_conflict ?? 0) === 1;
      if (flagged || (hashes.size > 1 && row !== first && row.hash !== first?.hash)) {
        findings.add('id-conflict', row.session_id, toInt(row.seq), `event id ${eventId} is stored for ${hashes.size} different events`);
      }
    }
  }
}

/** Text checks of each row (hash, seq/prev_hash columns, swapped contents) and column checks; returns the chain entries. */
function checkSessionRows(sessionId: string, rows: readonly StoredEventRow[], findings: FindingSet): Entry[] {
  const hashColumns = new Set(rows.map((r) => r.hash));
  const parsedRows = rows.map((row) => ({ row, parsed: parseText(row.canonical_text), textHash: sha256Hex(row.canonical_text) }));
  // Seqs whose intact event text some row holds: a row holding another seq's event was moved, not edited.
  const textSeqs = new Set<number>();
  for (const { parsed, textHash } of parsedRows) {
    if (parsed && typeof parsed.seq === 'number' && hashColumns.has(textHash)) textSeqs.add(parsed.seq);
  }

  const states: { row: StoredEventRow; parsed: ParsedText | null; state: RowState }[] = [];
  for (const { row, parsed, textHash } of parsedRows) {
    const rowSeq = toInt(row.seq);
    if (parsed === null) {
      findings.add('changed', sessionId, rowSeq, 'the stored canonical text is not a JSON object');
      states.push({ row, parsed, state: { state: 'changed', entry: claimedEntry(row, null) } });
      continue;
    }
    const entry = entryOfText(parsed, row.canonical_text, textHash);
    const seqAgrees = entry.seq === rowSeq;
    const prevAgrees = (entry.prevHash ?? '') === row.prev_hash;
    if (textHash === row.hash) {
      if (seqAgrees && prevAgrees) {
        states.push({ row, parsed, state: { state: 'intact', entry } });
      } else if (!seqAgrees && textSeqs.has(rowSeq)) {
        findings.add('reordered', sessionId, rowSeq, `the row of seq ${rowSeq} holds the event of seq ${entry.seq}`);
        states.push({ row, parsed, state: { state: 'reordered', entry } });
      } else {
        const what = seqAgrees ? `prev_hash column ${show(row.prev_hash)}` : `seq column ${rowSeq}`;
        findings.add('changed', sessionId, rowSeq, `its ${what} differs from its hashed text (seq ${entry.seq})`);
        states.push({ row, parsed, state: { state: 'columns-changed', entry } });
      }
    } else if (hashColumns.has(textHash) && !seqAgrees) {
      // The text is intact but stored beside another event's hash: contents moved between rows.
      findings.add('reordered', sessionId, rowSeq, `the row of seq ${rowSeq} holds the text of the event of seq ${entry.seq}`);
      states.push({ row, parsed, state: { state: 'reordered', entry } });
    } else {
      findings.add('changed', sessionId, rowSeq, 'the stored canonical text no longer hashes to its hash');
      states.push({ row, parsed, state: { state: 'changed', entry: claimedEntry(row, parsed) } });
    }
  }

  for (const { row, state } of states) {
    if (state.state === 'intact' || state.state === 'columns-changed') checkColumns(sessionId, row, findings);
  }

  // One entry per event: intact texts first, so a claimed (edited) copy never hides the real one.
  const entries = new Map<string, Entry>();
  for (const { state } of states) if (!state.entry.claimed) entries.set(state.entry.hash, state.entry);
  for (const { state } of states) if (state.entry.claimed && !entries.has(state.entry.hash)) entries.set(state.entry.hash, state.entry);
  return [...entries.values()];
}

/** Every derived column of a row against what its hashed text gives. */
function checkColumns(sessionId: string, row: StoredEventRow, findings: FindingSet): void {
  const seq = toInt(row.seq);
  let expected: Record<string, unknown>;
  try {
    expected = eventColumns(eventFromCanonicalText(row.canonical_text, row.hash), row.canonical_text);
  } catch {
    findings.add('changed', sessionId, seq, 'the stored canonical text is not a valid event');
    return;
  }
  for (const [column, value] of Object.entries(expected)) {
    if (CHAIN_COLUMNS.has(column)) continue;
    if (!(column in row)) {
      findings.add('column-mismatch', sessionId, seq, `column ${column} is absent; the event gives ${show(value)}`, column);
    } else if (!cellMatches(value, row[column])) {
      findings.add(
        'column-mismatch',
        sessionId,
        seq,
        `column ${column} holds ${show(row[column])}; the event gives ${show(value)}`,
        column,
      );
    }
  }
}

/**
 * Walks one session's chain in seq order; returns the chosen event per seq (shadow verdicts
 * excluded). `prunedBelow`: the first stored seq, when retention accounts for the ones before it.
 */
function walkChain(
  sessionId: string,
  entries: readonly Entry[],
  findings: FindingSet,
  prunedBelow: number | null = null,
): Map<number, Entry> {
  const isCheckpointChain = sessionId.startsWith(CHECKPOINT_PREFIX);
  const live = entries.filter((e) => !e.shadow && Number.isFinite(e.seq));
  const shadows = entries.filter((e) => e.shadow && Number.isFinite(e.seq));
  const candidates = new Map<number, Entry[]>();
  for (const e of live) candidates.set(e.seq, [...(candidates.get(e.seq) ?? []), e]);
  const linkedTo = new Set(entries.map((e) => e.prevHash));

  const chain = new Map<number, Entry>();
  const seqs = [...candidates.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const here = candidates.get(seq) ?? [];
    // Of two events in one slot, the chain goes on from the one a later event links to.
    const chosen = here.find((e) => linkedTo.has(e.hash)) ?? here.find((e) => !e.claimed) ?? here[0];
    if (chosen === undefined) continue;
    chain.set(seq, chosen);
    const ids = new Set(here.map((e) => e.eventId));
    if (here.length > 1 && ids.size > 1) {
      findings.add('changed', sessionId, seq, `${here.length} different events share this sequence number (fork)`);
    }
  }

  const maxSeq = seqs.at(-1) ?? -1;
  if (prunedBelow !== null) {
    findings.add('pruned', sessionId, prunedBelow, `events before seq ${prunedBelow} were dropped by a recorded retention run`);
  }
  for (let seq = prunedBelow ?? 0; seq < maxSeq; seq++) {
    if (chain.has(seq)) continue;
    const before = chain.get(seq - 1);
    const after = chain.get(seq + 1);
    const abandoned = (before?.eventType === 'RequestObserved' || before?.pendingApproval === true) && after?.prevHash === before.hash;
    if (abandoned) continue;
    if (isCheckpointChain) findings.add('checkpoint-gap', sessionId, seq, `checkpoint ${seq} is missing`);
    else findings.add('missing', sessionId, seq, `event ${seq} is missing (later events are present)`);
  }

  for (const seq of seqs) {
    const e = chain.get(seq);
    if (e === undefined) continue;
    if (seq === 0) {
      if (e.prevHash !== null) findings.add('changed', sessionId, 0, 'the first event links to a predecessor');
      continue;
    }
    const previous = chain.get(seq - 1);
    const twoBack = chain.get(seq - 2);
    if (previous !== undefined && previous.hash === e.prevHash) continue;
    const afterAbandoned =
      (twoBack?.eventType === 'RequestObserved' || twoBack?.pendingApproval === true) &&
      twoBack.hash === e.prevHash &&
      (previous === undefined || (previous.eventType === 'VerdictIssued' && previous.prevHash === twoBack.hash));
    if (afterAbandoned || previous === undefined) continue; // a gap is named above
    // Both texts hash, yet they do not link: the earlier one was rewritten (hash and all), or this one forged.
    findings.add('changed', sessionId, seq - 1, `the event of seq ${seq} links to another hash: this event was rewritten`);
  }

  for (const shadow of shadows) {
    const request = chain.get(shadow.seq - 1);
    if (request === undefined) continue;
    if (request.eventType !== 'RequestObserved' || request.hash !== shadow.prevHash) {
      findings.add('changed', sessionId, shadow.seq, 'a shadow verdict that chains onto no request of the session');
    }
  }
  return chain;
}

interface SignedHead extends ChainHead {
  checkpoint: string;
}

/** Signatures and continuity of every checkpoint chain; returns the heads valid checkpoints signed. */
function checkCheckpoints(
  bySession: ReadonlyMap<string, readonly StoredEventRow[]>,
  chains: ReadonlyMap<string, Map<number, Entry>>,
  trustedKeys: readonly TrustedKey[],
  findings: FindingSet,
): { checkpoints: CheckedCheckpoint[]; heads: { head: SignedHead; coveredUntilUs: number }[] } {
  const checkpoints: CheckedCheckpoint[] = [];
  const heads: { head: SignedHead; coveredUntilUs: number }[] = [];
  const sessions = [...bySession.keys()].filter((s) => s.startsWith(CHECKPOINT_PREFIX)).sort();
  for (const sessionId of sessions) {
    const chain = chains.get(sessionId) ?? new Map<number, Entry>();
    const rows = [...(bySession.get(sessionId) ?? [])].sort((a, b) => toInt(a.seq) - toInt(b.seq));
    const seen = new Set<string>();
    for (const row of rows) {
      const seq = toInt(row.seq);
      const key = `${seq}/${row.hash}/${row.canonical_text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (row.event_type !== 'CheckpointSigned') continue;
      const checkpoint = checkpointOf(row);
      if (checkpoint === undefined) {
        findings.add('bad-signature', sessionId, seq, 'the stored text is not a checkpoint');
        continue;
      }
      const check = verifyCheckpointSignature(checkpoint, seq, trustedKeys);
      checkpoints.push({
        checkpointerId: checkpoint.checkpointerId,
        seq,
        keyId: checkpoint.keyId,
        coveredUntilUs: checkpoint.coveredUntilUs,
        heads: checkpoint.heads.length,
        signature: checkpoint.signature,
        valid: check.ok,
      });
      // A valid signature vouches for the heads even if the row's text was edited elsewhere ('changed').
      if (!check.ok) {
        findings.add('bad-signature', sessionId, seq, `checkpoint ${seq} (key ${checkpoint.keyId}): ${check.reason}`);
        continue;
      }
      if (`${CHECKPOINT_PREFIX}${checkpoint.checkpointerId}` !== sessionId) {
        findings.add('checkpoint-gap', sessionId, seq, `checkpoint of ${checkpoint.checkpointerId} stored in another chain`);
      }
      // The signed link: previousCheckpointHash is the previous checkpoint event's hash.
      const previous = chain.get(seq - 1);
      if (seq === 0 && checkpoint.previousCheckpointHash !== null) {
        findings.add('checkpoint-gap', sessionId, seq, 'the first checkpoint names a predecessor');
      } else if (seq > 0 && previous !== undefined && previous.hash !== checkpoint.previousCheckpointHash) {
        findings.add('checkpoint-gap', sessionId, seq, `checkpoint ${seq} does not link to checkpoint ${seq - 1}`);
      }
      for (const head of checkpoint.heads)
        heads.push({ head: { ...head, checkpoint: `${sessionId}#${seq}` }, coveredUntilUs: checkpoint.coveredUntilUs });
    }
  }
  return { checkpoints, heads };
}

/** Each session against the heads valid checkpoints signed: missing, truncated, changed at the head; then what no head covers. */
function checkHeads(
  bySession: ReadonlyMap<string, readonly StoredEventRow[]>,
  chains: ReadonlyMap<string, Map<number, Entry>>,
  allEntries: ReadonlyMap<string, readonly Entry[]>,
  heads: readonly { head: SignedHead; coveredUntilUs: number }[],
  sinceUs: number | null,
  findings: FindingSet,
  retention: { cutoffUs: number | null; pruned: ReadonlySet<string> },
): void {
  const headsBySession = new Map<string, { head: SignedHead; coveredUntilUs: number }[]>();
  for (const h of heads) headsBySession.set(h.head.sessionId, [...(headsBySession.get(h.head.sessionId) ?? []), h]);
  const { cutoffUs } = retention;

  for (const [sessionId, signed] of headsBySession) {
    const chain = chains.get(sessionId);
    // After a recorded drop, heads of checkpoints that ended before the cutoff may name events retention removed.
    const required = cutoffUs === null ? signed : signed.filter((s) => s.coveredUntilUs >= cutoffUs);
    for (const { head } of signed) {
      const stored = chain?.get(head.seq);
      if (stored !== undefined && stored.hash !== head.hash) {
        findings.add('changed', sessionId, head.seq, `the event differs from the head ${head.checkpoint} signed`);
      }
    }
    if (required.length === 0) continue;
    const latest = required.reduce((a, b) => (b.head.seq > a.head.seq ? b : a));
    if (chain === undefined || chain.size === 0) {
      // A session outside the scope is only missing when a checkpoint of the scope names it.
      if (sinceUs === null || required.some((s) => s.coveredUntilUs >= sinceUs)) {
        findings.add(
          'missing-session',
          sessionId,
          undefined,
          `no event stored; ${latest.head.checkpoint} signed its head at seq ${latest.head.seq}`,
        );
      }
      continue;
    }
    const maxSeq = [...chain.keys()].reduce((a, b) => Math.max(a, b), -1);
    if (maxSeq < latest.head.seq) {
      findings.add(
        'truncated',
        sessionId,
        maxSeq + 1,
        `stored events end at seq ${maxSeq}; ${latest.head.checkpoint} signed seq ${latest.head.seq}`,
      );
    }
    // Events the latest head counted (shadow verdicts included) must all still be stored;
    // a pruned session's count includes events retention dropped, so its gaps are the walk's to name.
    if (retention.pruned.has(sessionId)) continue;
    const counted = (allEntries.get(sessionId) ?? []).filter(
      (e) => (!e.shadow && e.seq <= latest.head.seq) || (e.shadow && e.seq <= latest.head.seq + 1),
    ).length;
    if (counted < latest.head.events && !findings.sessionHas(sessionId, ['missing', 'truncated'])) {
      findings.add(
        'missing',
        sessionId,
        undefined,
        `${counted} events stored up to seq ${latest.head.seq}; ${latest.head.checkpoint} counted ${latest.head.events}`,
      );
    }
  }

  for (const [sessionId] of bySession) {
    if (sessionId.startsWith(CHECKPOINT_PREFIX)) continue; // a checkpoint signs itself
    const chain = chains.get(sessionId);
    if (chain === undefined || chain.size === 0) continue;
    const signed = headsBySession.get(sessionId) ?? [];
    const headSeq = signed.reduce((a, s) => Math.max(a, s.head.seq), -1);
    const after = [...chain.keys()].filter((s) => s > headSeq).sort((a, b) => a - b);
    const first = after[0];
    if (first !== undefined) {
      findings.add(
        'uncovered',
        sessionId,
        first,
        headSeq < 0
          ? `${after.length} events, no checkpoint signed a head yet`
          : `${after.length} events after the latest signed head (seq ${headSeq})`,
      );
    }
  }
}
