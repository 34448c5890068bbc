// What a verification reports. Every finding names where it is (session and sequence number,
// column, checkpoint), so an investigator can go straight to the row.

/**
 * Kinds of finding; each is a failure except `uncovered`, which only says what no checkpoint
 * vouches for yet, and `pruned`, which says what a recorded retention run legitimately dropped.
 */
export type FindingKind =
  /** A stored event no longer hashes to its hash, or its seq/prevHash columns differ from its hashed text. */
  | 'changed'
  /** A sequence number the chain needs is absent (deleted), with later events present. */
  | 'missing'
  /** A session ends before the head a checkpoint signed (its last events were removed). */
  | 'truncated'
  /** Events are present but out of their chained order (e.g. two swapped). */
  | 'reordered'
  /** A projected column differs from what the event's hashed canonical text gives. */
  | 'column-mismatch'
  /** A session a checkpoint signed has no event left in the store. */
  | 'missing-session'
  /** A checkpoint whose signature fails, whose key is not trusted, or whose signed text differs from its fields. */
  | 'bad-signature'
  /** The checkpoint chain itself is broken: a checkpoint missing, or one not linked to its predecessor. */
  | 'checkpoint-gap'
  /** Two different events stored under one event id (history is kept, not merged away). */
  | 'id-conflict'
  /** Events newer than the latest checkpoint: their integrity holds by hash chain only, no signature covers them yet. */
  | 'uncovered'
  /**
   * A session's (or checkpoint chain's) first events are gone, and a RetentionApplied record of a
   * partition drop accounts for them: its stored events start above seq 0, in or before the first
   * month that retention run kept. Not a failure; the seq is the first one still stored.
   */
  | 'pruned';

export interface Finding {
  kind: FindingKind;
  sessionId: string;
  /** The sequence number concerned, when there is one. */
  seq?: number;
  /** The column concerned (column-mismatch). */
  column?: string;
  /** Human-readable detail; tests assert `kind`, `sessionId`, `seq` and `column`, not this. */
  detail: string;
}

/** One checkpoint as checked: who signed, with which key, and whether it verified. */
export interface CheckedCheckpoint {
  checkpointerId: string;
  seq: number;
  keyId: string;
  coveredUntilUs: number;
  heads: number;
  signature: string;
  valid: boolean;
}

/** The outcome of a verification, as the CLI prints it (--json), the API returns it and reports embed it. */
export interface VerificationReport {
  /** ISO time the scope starts at (events and checkpoints at or after it), or null for everything. */
  since: string | null;
  sessionsChecked: number;
  eventsChecked: number;
  checkpoints: CheckedCheckpoint[];
  /** Public keys the signatures were checked against. */
  trustedKeys: { keyId: string; publicKey: string }[];
  findings: Finding[];
  /** True only when something was checked and no finding other than `uncovered` or `pruned` exists. */
  ok: boolean;
}
