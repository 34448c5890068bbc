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

/**
 * The link after a request whose verdict the ingress gave up waiting for: the verdict's
 * slot (seq + 1) stays reserved for a verdict that may still arrive, chained to the
 * request; the ingress's next event takes seq + 2 and chains to the request too.
 */
export function linkAfterAbandonedVerdict(request: Pick<AuditEvent, 'seq' | 'hash'>): ChainLink {
  return { seq: request.seq + 2, prevHash: request.hash };
}

interface ParsedEntry extends StoredChainEntry {
  eventType: string;
  /** A verdict that sends its request for approval: its final verdict may be abandoned too. */
  pendingApproval: boolean;
}

/**
 * Verifies one session's stored events from seq 0 on. Each event must hash to its stored
 * hash and link to the event before it; the one exception is an abandoned verdict slot
 * (see linkAfterAbandonedVerdict): an event may link to the RequestObserved two places
 * back when the slot between holds nothing or a verdict of that same request. The same holds
 * after a pending verdict (approval): its final verdict's slot may be abandoned when the
 * ingress stops waiting. Shadow verdicts
 * (a policy on trial) share the live verdict's slot but are not part of the chain: each must
 * hash to its text and chain onto the request it answers, and is otherwise skipped.
 */
export function verifyStoredChain(entries: readonly StoredChainEntry[]): ChainVerification {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const bySeq = new Map<number, ParsedEntry>();
  const shadows: StoredChainEntry[] = [];
  for (const entry of sorted) {
    const broken = (reason: string): ChainVerification => ({ ok: false, code: 'AG_ERR_HASH_CHAIN_BROKEN', atSeq: entry.seq, reason });
    let parsed: { seq?: unknown; prevHash?: unknown; eventType?: unknown; payload?: unknown };
    try {
      parsed = JSON.parse(entry.canonicalText) as typeof parsed;
    } catch {
      return broken('stored canonical text is not JSON');
    }
    if (parsed.seq !== entry.seq || (parsed.prevHash ?? null) !== entry.prevHash)
      return broken('stored columns differ from the hashed text');
    if (sha256Hex(entry.canonicalText) !== entry.hash) return broken('hash does not match the canonical text');
    if (isShadowVerdict(parsed)) {
      // A shadow verdict sits beside the live one, not in the chain; checked below.
      shadows.push(entry);
      continue;
    }
    if (bySeq.has(entry.seq)) return broken('two different events share this sequence number (fork)');
    const previous = bySeq.get(entry.seq - 1);
    const twoBack = bySeq.get(entry.seq - 2);
    if (entry.seq === 0) {
      if (entry.prevHash !== null) return broken('the first event must not link to a predecessor');
    } else if (previous && previous.hash === entry.prevHash) {
      // the ordinary case
    } else if (
      (twoBack?.eventType === 'RequestObserved' || twoBack?.pendingApproval === true) &&
      twoBack.hash === entry.prevHash &&
      (previous === undefined || (previous.eventType === 'VerdictIssued' && previous.prevHash === twoBack.hash))
    ) {
      // continues after an abandoned verdict slot
    } else {
      return broken(previous || twoBack ? 'prevHash does not match the previous event' : `expected seq ${entry.seq - 1} before it`);
    }
    bySeq.set(entry.seq, {
      ...entry,
      eventType: typeof parsed.eventType === 'string' ? parsed.eventType : '',
      pendingApproval: payloadBranch(parsed, 'VerdictIssued')?.['decision'] === 'pending_approval',
    });
  }
  // Each shadow verdict must answer a request of this chain: the slot after it, chained onto it.
  for (const shadow of shadows) {
    const request = bySeq.get(shadow.seq - 1);
    if (request?.eventType !== 'RequestObserved' || request.hash !== shadow.prevHash) {
      return {
        ok: false,
        code: 'AG_ERR_HASH_CHAIN_BROKEN',
        atSeq: shadow.seq,
        reason: 'a shadow verdict that chains onto no request of the session',
      };
    }
  }
  return { ok: true, length: entries.length };
}

/**
 * Whether a stored event is a shadow verdict (recorded, never enforced). The flag is inside the
 * hashed text, so it cannot be set on a live verdict afterwards without breaking its hash.
 */
function isShadowVerdict(parsed: { eventType?: unknown; payload?: unknown }): boolean {
  return payloadBranch(parsed, 'VerdictIssued')?.['shadow'] === true;
}

/** The payload of a stored event of type `eventType` (its wrapped union branch), if it is one. */
function payloadBranch(parsed: { eventType?: unknown; payload?: unknown }, eventType: string): Record<string, unknown> | undefined {
  if (parsed.eventType !== eventType || parsed.payload === null || typeof parsed.payload !== 'object') return undefined;
  return Object.values(parsed.payload as Record<string, unknown>)[0] as Record<string, unknown> | undefined;
}

/** Verifies in-memory events of one session. */
export function verifyChain(events: readonly AuditEvent[]): ChainVerification {
  return verifyStoredChain(events.map((e) => ({ seq: e.seq, hash: e.hash, prevHash: e.prevHash, canonicalText: canonicalEventText(e) })));
}
