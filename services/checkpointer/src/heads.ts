// What the checkpointer knows, as a fold of the log: every session's chain head (from the
// hash-chained topics) and its own chain of checkpoints (from the checkpoints topic), and what
// the next checkpoint says. Pure: the same events give the same state in any interleaving of
// topics, and an event folded twice (a consumer re-reading after a crash, our own checkpoint
// read back after we applied it on Kafka's acknowledgement) changes nothing.
//
// The state is mutated in place and returned: it holds one entry per session ever seen, and
// copying that per event would make a rebuild quadratic. Only the store in app.ts owns it.
import type { AuditEvent, AuditEventOf, ChainHead } from '@agentgate/events';
import type { CheckpointBody } from '@agentgate/audit-verify';

interface SessionHead {
  seq: number;
  hash: string;
  /** Hashes of the session's distinct events: a duplicate record is not another event. */
  readonly seen: Set<string>;
}

/** The last checkpoint of this checkpointer's chain: where the next one attaches. */
export interface LastCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly coveredUntilUs: number;
}

export interface HeadsState {
  readonly checkpointerId: string;
  readonly chainId: string;
  /** Sessions whose chain has a head (a non-shadow event); shadow-only sessions wait in `seen`. */
  readonly sessions: Map<string, SessionHead>;
  /** Per session: the head the latest checkpoint listing it signed. */
  readonly signed: Map<string, ChainHead>;
  last: LastCheckpoint | null;
}

/** An empty state for the checkpointer `checkpointerId`, whose chain id is `chainId` (checkpointChainId). */
export function initialState(checkpointerId: string, chainId: string): HeadsState {
  return { checkpointerId, chainId, sessions: new Map(), signed: new Map(), last: null };
}

/**
 * A shadow verdict (a policy on trial) shares its live verdict's slot but is not a link of the
 * chain (hash-chain.ts verifyStoredChain): it counts as an event, never as the head.
 */
export function isShadowVerdict(event: AuditEvent): boolean {
  return event.eventType === 'VerdictIssued' && event.payload.shadow;
}

/**
 * Where an event was read. Only the checkpoints topic (written by the checkpointer alone)
 * can move our own chain: a CheckpointSigned anyone wrote into a chained topic must not become
 * the checkpoint the next one links onto.
 */
export type LogRecord = { source: 'chained'; event: AuditEvent } | { source: 'checkpoints'; event: AuditEvent };

/** Folds one record in; returns the same (mutated) state. */
export function evolve(state: HeadsState, record: LogRecord): HeadsState {
  const { event } = record;
  switch (record.source) {
    case 'checkpoints':
      return event.eventType === 'CheckpointSigned' ? evolveCheckpoint(state, event) : state;
    case 'chained':
      // Checkpoints chain only onto each other; one in a chained topic is nobody's head.
      return event.eventType === 'CheckpointSigned' ? state : evolveSession(state, event);
    default: {
      const never: never = record;
      return never;
    }
  }
}

function evolveSession(state: HeadsState, event: AuditEvent): HeadsState {
  let session = state.sessions.get(event.sessionId);
  if (session === undefined) {
    // seq -1: no head yet (only shadow verdicts so far); a real event always wins below.
    session = { seq: -1, hash: '', seen: new Set() };
    state.sessions.set(event.sessionId, session);
  }
  if (session.seen.has(event.hash)) return state;
  session.seen.add(event.hash);
  if (isShadowVerdict(event)) return state;
  // Two different events at one seq are a fork the verifier reports; the smaller hash is kept
  // so that a rebuild, which may read the topics in another interleaving, signs the same head.
  if (event.seq > session.seq || (event.seq === session.seq && event.hash < session.hash)) {
    session.seq = event.seq;
    session.hash = event.hash;
  }
  return state;
}

function evolveCheckpoint(state: HeadsState, event: AuditEventOf<'CheckpointSigned'>): HeadsState {
  // Other checkpointers' chains are theirs to continue; only ours says what we signed.
  if (event.sessionId !== state.chainId || event.payload.checkpointerId !== state.checkpointerId) return state;
  // Applied once Kafka acknowledged it, then read back: the second time it is not newer.
  if (state.last !== null && event.seq <= state.last.seq) return state;
  for (const head of event.payload.heads) state.signed.set(head.sessionId, { ...head });
  state.last = { seq: event.seq, hash: event.hash, coveredUntilUs: event.payload.coveredUntilUs };
  return state;
}

/** Folds events in, in order: CheckpointSigned events as read from the checkpoints topic, the rest from chained topics. */
export function evolveAll(state: HeadsState, events: Iterable<AuditEvent>): HeadsState {
  for (const event of events) evolve(state, { source: event.eventType === 'CheckpointSigned' ? 'checkpoints' : 'chained', event });
  return state;
}

/** Every session's head as read so far, sorted by session id (sessions with only shadow verdicts have none). */
export function currentHeads(state: HeadsState): ChainHead[] {
  const heads: ChainHead[] = [];
  for (const [sessionId, s] of state.sessions) {
    if (s.seq >= 0) heads.push({ sessionId, seq: s.seq, hash: s.hash, events: s.seen.size });
  }
  return heads.sort(bySessionId);
}

export interface DecideInput {
  /** The time of signing (µs since the epoch): the end of the interval the checkpoint covers. */
  nowUs: number;
  keyId: string;
  /** Heads per checkpoint at most; more make several checkpoints (see decide). */
  maxHeads: number;
}

/** A checkpoint to sign and where it attaches in the checkpointer's own chain. */
export interface CheckpointPlan {
  body: CheckpointBody;
  /** The link of the CheckpointSigned event: seq and prevHash (= body.previousCheckpointHash). */
  link: { seq: number; prevHash: string | null };
  /** False when more heads are waiting than one checkpoint holds; sign this, fold it in, decide again. */
  final: boolean;
}

/**
 * The next checkpoint: the heads of the sessions that advanced since each was last signed
 * (open sessions included), covering (previous coveredUntilUs, nowUs]. It is made even when
 * nothing advanced (empty heads), so a silent checkpointer is visible. Nothing when the clock
 * has not passed the previous checkpoint's end (time went backwards): the interval would be empty.
 *
 * When more than `maxHeads` sessions advanced, the first checkpoints carry `maxHeads` heads each
 * and claim no time (coveredUntilUs = coveredFromUs): only the final one, which holds the rest,
 * says that everything read up to nowUs is covered.
 */
export function decide(state: HeadsState, input: DecideInput): CheckpointPlan | undefined {
  const coveredFromUs = state.last?.coveredUntilUs ?? 0;
  if (input.nowUs <= coveredFromUs) return undefined;
  const advanced = currentHeads(state).filter((h) => !sameHead(h, state.signed.get(h.sessionId)));
  const final = advanced.length <= input.maxHeads;
  const previousCheckpointHash = state.last?.hash ?? null;
  const seq = state.last === null ? 0 : state.last.seq + 1;
  return {
    body: {
      checkpointerId: state.checkpointerId,
      keyId: input.keyId,
      seq,
      previousCheckpointHash,
      coveredFromUs,
      coveredUntilUs: final ? input.nowUs : coveredFromUs,
      heads: final ? advanced : advanced.slice(0, input.maxHeads),
    },
    link: { seq, prevHash: previousCheckpointHash },
    final,
  };
}

function sameHead(a: ChainHead, b: ChainHead | undefined): boolean {
  return b !== undefined && a.seq === b.seq && a.hash === b.hash && a.events === b.events;
}

function bySessionId(a: ChainHead, b: ChainHead): number {
  return a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0;
}
