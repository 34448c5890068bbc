// The per-session hash chain. Every event of a session, whichever service produced it,
// links to the previous one: hash = SHA-256(canonical JSON of the event's Avro form
// without `hash`). The canonical text includes prevHash and seq, so reordering, removal
// or edits break the chain. Verification needs only the stored canonical text.
import { createHash } from 'node:crypto';
import { toAvro } from './avro-mapping.js';
import { canonicalJson } from './canonical-json.js';
import type { AuditEvent, AuditEventOf, EventType, UnchainedEvent } from './types.js';

/** Where the next event of a session attaches. */
export interface ChainLink {
  readonly seq: number;
  readonly prevHash: string | null;
}

/** The link for the first event of a session. */
export const GENESIS: ChainLink = Object.freeze({ seq: 0, prevHash: null });

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The canonical text an event's hash covers. */
export function canonicalEventText(event: AuditEvent): string {
  return canonicalJson(toAvro(event, false));
}

/** Attaches an event to a chain: fills seq, prevHash and hash. */
export function chainEvent<T extends EventType>(event: UnchainedEvent<T>, link: ChainLink): AuditEventOf<T> {
  const chained = { ...event, seq: link.seq, prevHash: link.prevHash, hash: '' } as AuditEventOf<T>;
  chained.hash = sha256Hex(canonicalEventText(chained as AuditEvent));
  return chained;
}

/** The link that follows an event. */
export function nextLink(event: Pick<AuditEvent, 'seq' | 'hash'>): ChainLink {
  return { seq: event.seq + 1, prevHash: event.hash };
}

/** A stored event as read back from a projection. */
export interface StoredChainEntry {
  seq: number;
  hash: string;
  prevHash: string | null;
  canonicalText: string;
}

export type ChainVerification =
  | { ok: true; length: number }
  | { ok: false; code: 'AG_ERR_HASH_CHAIN_BROKEN'; atSeq: number; reason: string };

/** Verifies one session's stored events, sorted by seq, from seq 0 on. */
export function verifyStoredChain(entries: readonly StoredChainEntry[]): ChainVerification {
  let expected: ChainLink = GENESIS;
  for (const entry of entries) {
    const broken = (reason: string): ChainVerification => ({ ok: false, code: 'AG_ERR_HASH_CHAIN_BROKEN', atSeq: entry.seq, reason });
    if (entry.seq !== expected.seq) return broken(`expected seq ${expected.seq}, found ${entry.seq}`);
    if (entry.prevHash !== expected.prevHash) return broken('prevHash does not match the previous event');
    let parsed: { seq?: unknown; prevHash?: unknown };
    try {
      parsed = JSON.parse(entry.canonicalText) as typeof parsed;
    } catch {
      return broken('stored canonical text is not JSON');
    }
    if (parsed.seq !== entry.seq || (parsed.prevHash ?? null) !== entry.prevHash) return broken('stored columns differ from the hashed text');
    if (sha256Hex(entry.canonicalText) !== entry.hash) return broken('hash does not match the canonical text');
    expected = { seq: entry.seq + 1, prevHash: entry.hash };
  }
  return { ok: true, length: entries.length };
}

/** Verifies in-memory events of one session, sorted by seq. */
export function verifyChain(events: readonly AuditEvent[]): ChainVerification {
  return verifyStoredChain(
    events.map((e) => ({ seq: e.seq, hash: e.hash, prevHash: e.prevHash, canonicalText: canonicalEventText(e) })),
  );
}
