// A small audit log for the verifier's tests: chained sessions, a signed checkpoint chain, and
// rows as ClickHouse returns them (JSONEachRow: UInt64 columns as strings).
import { eventRow } from '@agentgate/audit-store';
import {
  GENESIS,
  canonicalEventText,
  chainEvent,
  nextLink,
  sampleSession,
  type AuditEvent,
  type ChainHead,
  type ChainLink,
  type UnchainedEvent,
} from '@agentgate/events';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { checkpointChainId, keyIdOf, publicKeyBase64, signCheckpoint, type TrustedKey } from './checkpoint.js';
import type { StoredEventRow } from './verify.js';

const UINT64_COLUMNS = ['seq', 'time_us', 'row_count', 'kafka_offset'];

/** The row ClickHouse returns for an event: UInt64 columns as decimal strings. */
export function storedRow(event: AuditEvent): StoredEventRow {
  const row: Record<string, unknown> = eventRow(
    { event, canonicalText: canonicalEventText(event) },
    { topic: 'agentgate.test.v1', partition: 0, offset: '1' },
    0,
  );
  for (const column of UINT64_COLUMNS) row[column] = String(row[column]);
  return row as StoredEventRow;
}

function unchained(event: AuditEvent): UnchainedEvent {
  const { seq: _seq, prevHash: _prevHash, hash: _hash, ...rest } = event;
  return rest as UnchainedEvent;
}

/** sampleSession with event ids of its own (the fixture reuses one set of ids for every session). */
export function session(sessionId: string, t0: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let link: ChainLink = GENESIS;
  for (const e of sampleSession(sessionId, t0)) {
    const chained = chainEvent({ ...unchained(e), eventId: `${sessionId}-e${link.seq}` }, link) as AuditEvent;
    events.push(chained);
    link = nextLink(chained);
  }
  return events;
}

/** A session with an abandoned verdict slot (seq 2) and a shadow verdict beside its second request's live verdict. */
export function sessionWithAbandonedSlotAndShadow(sessionId: string, t0: number): AuditEvent[] {
  const [opened, request, verdict, response] = session(sessionId, t0);
  if (!opened || !request || !verdict || !response) throw new Error('sample session too short');
  const e0 = opened;
  const e1 = chainEvent({ ...unchained(request), eventId: `${sessionId}-r1` }, nextLink(e0)) as AuditEvent;
  // The ingress gave up waiting for e1's verdict: its next event takes seq 3 and chains onto e1.
  const e3 = chainEvent({ ...unchained(request), eventId: `${sessionId}-r3` }, { seq: 3, prevHash: e1.hash }) as AuditEvent;
  const live = chainEvent({ ...unchained(verdict), eventId: `${sessionId}-v4` }, nextLink(e3)) as AuditEvent;
  const base = unchained(verdict) as UnchainedEvent<'VerdictIssued'>;
  const shadow = chainEvent(
    { ...base, eventId: `${sessionId}-s4`, payload: { ...base.payload, shadow: true, decision: 'deny', policyVersion: 'trial-2' } },
    nextLink(e3),
  ) as AuditEvent;
  const e5 = chainEvent({ ...unchained(response), eventId: `${sessionId}-p5` }, nextLink(live)) as AuditEvent;
  return [e0, e1, e3, live, shadow, e5];
}

/** The head a checkpoint signs for a session's events so far. */
export function headOf(events: readonly AuditEvent[]): ChainHead {
  const live = events.filter((e) => !(e.eventType === 'VerdictIssued' && e.payload.shadow));
  const last = live.reduce((a, b) => (b.seq > a.seq ? b : a));
  return { sessionId: last.sessionId, seq: last.seq, hash: last.hash, events: events.length };
}

export interface Signer {
  privateKey: KeyObject;
  keyId: string;
  trusted: TrustedKey[];
}

export function newSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  return { privateKey, keyId, trusted: [{ keyId, publicKey: publicKeyBase64(publicKey) }] };
}

/** Appends a signed checkpoint to a checkpointer's chain (events so far in `chain`). */
export function appendCheckpoint(
  chain: AuditEvent[],
  signer: { privateKey: KeyObject; keyId: string },
  heads: ChainHead[],
  coveredUntilUs: number,
  checkpointerId = 'cp-1',
): AuditEvent {
  const last = chain.at(-1);
  const link = last ? nextLink(last) : GENESIS;
  const payload = signCheckpoint(
    {
      checkpointerId,
      keyId: signer.keyId,
      seq: link.seq,
      previousCheckpointHash: link.prevHash,
      coveredFromUs: coveredUntilUs - 60_000_000,
      coveredUntilUs,
      heads,
    },
    signer.privateKey,
  );
  const event = chainEvent(
    {
      eventId: `${checkpointerId}-${link.seq}`,
      sessionId: checkpointChainId(checkpointerId),
      timeUs: coveredUntilUs + 1,
      producer: 'checkpointer/test/1',
      traceId: null,
      actor: null,
      eventType: 'CheckpointSigned',
      payload,
    },
    link,
  ) as AuditEvent;
  chain.push(event);
  return event;
}

export const T0 = 1_795_000_000_000_000;
export const A = 'aaaaaaaa-0000-4000-8000-00000000000a';
export const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
export const C = 'cccccccc-0000-4000-8000-00000000000c';
export const D = 'dddddddd-0000-4000-8000-00000000000d';
export const E = 'eeeeeeee-0000-4000-8000-00000000000e';
export const CP = 'checkpoint/cp-1';

export interface World {
  signer: Signer;
  sessions: Record<string, AuditEvent[]>;
  checkpoints: AuditEvent[];
  rows: StoredEventRow[];
}

/**
 * Sessions A, B, C and E (abandoned slot and shadow verdict) fully covered by the third of three
 * checkpoints (the first covers A's first three events); D came after the last checkpoint.
 */
export function world(): World {
  const signer = newSigner();
  const sessions: Record<string, AuditEvent[]> = {
    [A]: session(A, T0),
    [B]: session(B, T0 + 1_000),
    [C]: session(C, T0 + 2_000),
    [E]: sessionWithAbandonedSlotAndShadow(E, T0 + 3_000),
  };
  const a = sessions[A] ?? [];
  const checkpoints: AuditEvent[] = [];
  appendCheckpoint(checkpoints, signer, [headOf(a.slice(0, 3))], T0 + 100);
  appendCheckpoint(checkpoints, signer, [headOf(a.slice(0, 4)), headOf(sessions[B] ?? [])], T0 + 60_000_100);
  appendCheckpoint(
    checkpoints,
    signer,
    Object.values(sessions).map((s) => headOf(s)),
    T0 + 120_000_100,
  );
  sessions[D] = session(D, T0 + 200_000_000);
  const rows = [...Object.values(sessions).flat(), ...checkpoints].map(storedRow);
  return { signer, sessions, checkpoints, rows };
}
