// The verifier after retention: a recorded partition drop (RetentionApplied, action drop) makes
// the oldest events and checkpoints legitimately absent. Each tolerance is tested on its own,
// and the same rows without the record must still fail as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GENESIS, chainEvent, nextLink, type AuditEvent, type ChainLink, type UnchainedEvent } from '@agentgate/events';
import type { VerificationReport } from './findings.js';
import { appendCheckpoint, headOf, newSigner, session, storedRow, type Signer } from './test-world.js';
import { retentionCutoffUs, verifyAudit, type StoredEventRow } from './verify.js';

type Named = [kind: string, session: string, seq?: number];

const us = (iso: string): number => Date.parse(iso) * 1000;

/** Month 2025-01 was dropped; the run's cutoff falls in 2025-02, the first month it kept. */
const CUTOFF = us('2025-02-10T00:00:00Z');
const JAN = us('2025-01-20T00:00:00Z');
const JAN_END = us('2025-01-31T23:59:00Z');
const FEB_START = us('2025-02-01T00:01:00Z');
const FEB = us('2025-02-02T00:00:00Z');
const FEB_LATE = us('2025-02-12T00:00:00Z');
const MAR = us('2025-03-05T00:00:00Z');

const P = 'pppppppp-0000-4000-8000-00000000000p'; // spans January (dropped) and February (kept)
const G = 'gggggggg-0000-4000-8000-00000000000g'; // January only: gone entirely
const Q = 'qqqqqqqq-0000-4000-8000-00000000000q'; // February only: whole
const R = 'rrrrrrrr-0000-4000-8000-00000000000r'; // starts above seq 0 in March: not explained by the drop
const CP = 'checkpoint/cp-1';

/** A session's events re-chained with the given times (one per event, in order). */
function timed(sessionId: string, times: (i: number) => number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let link: ChainLink = GENESIS;
  for (const [i, e] of session(sessionId, 0).entries()) {
    const { seq: _s, prevHash: _p, hash: _h, ...rest } = e;
    const chained = chainEvent({ ...(rest as UnchainedEvent), timeUs: times(i) }, link) as AuditEvent;
    out.push(chained);
    link = nextLink(chained);
  }
  return out;
}

function retentionRow(action: 'drop' | 'keep', cutoffUs = CUTOFF): StoredEventRow {
  const event = chainEvent(
    {
      eventId: `retention-${action}-${cutoffUs}`,
      sessionId: `governance/retention/${action}-${cutoffUs}`,
      timeUs: us('2026-03-01T00:00:00Z'),
      producer: 'audit-api',
      traceId: null,
      actor: null,
      eventType: 'RetentionApplied',
      payload: { partition: '202501', action, tables: ['events'], rows: 10, heldSessions: [], cutoffUs, requestedBy: 'bob' },
    },
    GENESIS,
  ) as AuditEvent;
  return storedRow(event);
}

interface Log {
  signer: Signer;
  /** Every event ever written, before the drop. */
  all: StoredEventRow[];
  /** What is left once January is dropped. */
  kept: StoredEventRow[];
}

/**
 * P: seqs 0-1 in January, 2-3 on 2 February, 4 after the cutoff; G: the end of January; Q: 2
 * February. Checkpoint 0 (January, P to seq 1) is dropped with its month; checkpoint 1 (1
 * February, before the cutoff) signs G; checkpoint 2 (2 February) P to seq 3 and Q; checkpoint 3
 * (after the cutoff) P whole.
 */
function log(): Log {
  const signer = newSigner();
  const p = timed(P, (i) => (i < 2 ? JAN + i : i < 4 ? FEB + i : FEB_LATE));
  const g = timed(G, (i) => JAN_END + i);
  const q = timed(Q, (i) => FEB + 100 + i);
  const checkpoints: AuditEvent[] = [];
  appendCheckpoint(checkpoints, signer, [headOf(p.slice(0, 2))], JAN + 1_000_000);
  appendCheckpoint(checkpoints, signer, [headOf(g)], FEB_START);
  appendCheckpoint(checkpoints, signer, [headOf(p.slice(0, 4)), headOf(q)], FEB + 1_000_000);
  appendCheckpoint(checkpoints, signer, [headOf(p)], FEB_LATE + 1_000_000);
  const all = [...p, ...g, ...q, ...checkpoints].map(storedRow);
  const kept = all.filter((r) => Number(r.time_us) >= us('2025-02-01T00:00:00Z'));
  return { signer, all, kept };
}

function verify(l: Log, rows: StoredEventRow[]): VerificationReport {
  return verifyAudit({ since: null, rows, trustedKeys: l.signer.trusted });
}

function named(report: VerificationReport, kinds?: string[]): Named[] {
  return report.findings
    .filter((f) => (kinds === undefined ? f.kind !== 'uncovered' && f.kind !== 'pruned' : kinds.includes(f.kind)))
    .map((f) => (f.seq === undefined ? [f.kind, f.sessionId] : [f.kind, f.sessionId, f.seq]));
}

test('given the whole log, when verified, then it is clean (the fixture itself is sound)', () => {
  const l = log();
  const report = verify(l, l.all);
  assert.deepEqual(named(report), []);
  assert.equal(report.ok, true);
});

test('given January dropped and no retention record, then the drop fails verification as it always did', () => {
  const l = log();
  const report = verify(l, l.kept);
  assert.deepEqual(named(report), [
    ['checkpoint-gap', CP, 0],
    ['missing-session', G],
    ['missing', P, 0],
    ['missing', P, 1],
  ]);
  assert.equal(report.ok, false);
});

test('given January dropped with its RetentionApplied drop record, then nothing fails: P and the checkpoint chain are pruned', () => {
  const l = log();
  const report = verify(l, [...l.kept, retentionRow('drop')]);
  assert.deepEqual(named(report), []);
  assert.deepEqual(named(report, ['pruned']), [
    ['pruned', CP, 1],
    ['pruned', P, 2],
  ]);
  assert.equal(report.ok, true);
});

test('given only a keep record (a month held), then the same rows fail as without any record', () => {
  const l = log();
  const without = named(verify(l, l.kept));
  assert.deepEqual(named(verify(l, [...l.kept, retentionRow('keep')])), without);
});

test('given a drop record whose text was edited, then it is not trusted and the drop fails as without a record', () => {
  const l = log();
  const forged = retentionRow('drop');
  forged.canonical_text = forged.canonical_text.replace('"bob"', '"eve"');
  assert.equal(retentionCutoffUs([forged]), null);
  const failures = named(verify(l, [...l.kept, forged]));
  for (const expected of [
    ['checkpoint-gap', CP, 0],
    ['missing-session', G],
    ['missing', P, 0],
  ])
    assert.ok(
      failures.some((f) => JSON.stringify(f) === JSON.stringify(expected)),
      `${JSON.stringify(expected)} in ${JSON.stringify(failures)}`,
    );
});

test('given a cutoff before the first kept checkpoint covers from, then the checkpoint gap is still named', () => {
  const l = log();
  // The cutoff lies before checkpoint 1's coveredFromUs (60 s before it was signed): its predecessor was not retention's to drop.
  const early = FEB_START - 120_000_000;
  const failures = named(verify(l, [...l.kept, retentionRow('drop', early)]));
  assert.ok(
    failures.some((f) => f[0] === 'checkpoint-gap' && f[1] === CP && f[2] === 0),
    JSON.stringify(failures),
  );
});

test('given a session gone whose head a checkpoint after the cutoff signed, then it is still missing-session', () => {
  const l = log();
  const rows = [...l.kept, retentionRow('drop')].filter((r) => r.session_id !== P);
  assert.deepEqual(named(verify(l, rows)), [['missing-session', P]]);
});

test('given a session gone whose only heads checkpoints before the cutoff signed, then it is not required', () => {
  const l = log();
  const rows = [...l.kept, retentionRow('drop')].filter((r) => r.session_id !== Q);
  assert.deepEqual(named(verify(l, rows)), []);
  // Without the record, the same deletion is named.
  assert.ok(
    named(
      verify(
        l,
        l.kept.filter((r) => r.session_id !== Q),
      ),
    ).some((f) => f[0] === 'missing-session' && f[1] === Q),
  );
});

test('given a session whose stored events start above seq 0 after the first kept month, then it is missing, not pruned', () => {
  const l = log();
  const r = timed(R, (i) => MAR + i).map(storedRow);
  const rows = [...l.kept, retentionRow('drop'), ...r.filter((row) => Number(row.seq) >= 2)];
  const report = verify(l, rows);
  assert.deepEqual(named(report), [
    ['missing', R, 0],
    ['missing', R, 1],
  ]);
  assert.equal(report.ok, false);
});

test('given a pruned session with an event deleted in what was kept, then that event is still missing', () => {
  const l = log();
  const rows = [...l.kept, retentionRow('drop')].filter((r) => !(r.session_id === P && r.seq === '3'));
  assert.deepEqual(named(verify(l, rows)), [['missing', P, 3]]);
});

test('given a pruned session truncated after the cutoff, then the later checkpoint still names it truncated', () => {
  const l = log();
  const rows = [...l.kept, retentionRow('drop')].filter((r) => !(r.session_id === P && r.seq === '4'));
  assert.deepEqual(named(verify(l, rows)), [['truncated', P, 4]]);
});
