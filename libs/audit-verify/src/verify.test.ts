// The verifier, given a clean log and then one tampering at a time: each must be named with its
// kind, session and seq (and column), and nothing else may fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainEvent, sha256Hex, type AuditEvent } from '@agentgate/events';
import type { VerificationReport } from './findings.js';
import { A, B, C, CP, D, E, T0, appendCheckpoint, headOf, newSigner, storedRow, world, type World } from './test-world.js';
import { cellMatches, verifyAudit, type StoredEventRow } from './verify.js';

type Named = [kind: string, session: string, seq?: number, column?: string];

/** The failures of a report (everything but `uncovered`), as [kind, session, seq, column]. */
function failures(report: VerificationReport): Named[] {
  return report.findings
    .filter((f) => f.kind !== 'uncovered')
    .map((f) => {
      const named: Named = [f.kind, f.sessionId];
      if (f.seq !== undefined) named.push(f.seq);
      if (f.column !== undefined) named.push(f.column);
      return named;
    });
}

function verify(w: World, rows: StoredEventRow[] = w.rows, since: string | null = null): VerificationReport {
  return verifyAudit({ since, rows, trustedKeys: w.signer.trusted });
}

function rowAt(rows: StoredEventRow[], session: string, seq: number): StoredEventRow {
  const row = rows.find((r) => r.session_id === session && Number(r.seq) === seq);
  assert.ok(row, `no row ${session}#${seq}`);
  return row;
}

function without(rows: StoredEventRow[], drop: (r: StoredEventRow) => boolean): StoredEventRow[] {
  return rows.filter((r) => !drop(r));
}

test('given a clean log, when verified, then it is ok: only the session after the last checkpoint is uncovered', () => {
  const w = world();
  const report = verify(w);
  assert.deepEqual(failures(report), []);
  assert.equal(report.ok, true);
  assert.deepEqual(
    report.findings.map((f) => [f.kind, f.sessionId, f.seq]),
    [['uncovered', D, 0]],
  );
  assert.equal(report.eventsChecked, w.rows.length);
  assert.equal(report.sessionsChecked, 6);
  assert.deepEqual(
    report.checkpoints.map((c) => [c.seq, c.valid]),
    [
      [0, true],
      [1, true],
      [2, true],
    ],
  );
});

test('given no rows, when verified, then nothing was checked and it is not ok', () => {
  const report = verifyAudit({ since: null, rows: [], trustedKeys: [] });
  assert.equal(report.ok, false);
  assert.equal(report.eventsChecked, 0);
});

test('given one byte of one canonical text changed, then that event is named changed, and nothing else', () => {
  const w = world();
  const row = rowAt(w.rows, B, 2);
  row.canonical_text = row.canonical_text.replace('"allow"', '"allox"');
  assert.deepEqual(failures(verify(w)), [['changed', B, 2]]);
});

test('given an event rewritten with a recomputed hash, then the broken link names it changed', () => {
  const w = world();
  const events = w.sessions[B] ?? [];
  const original = events[2] as AuditEvent & { eventType: 'VerdictIssued' };
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = original;
  const forged = chainEvent({ ...rest, payload: { ...original.payload, decision: 'deny' } }, { seq: 2, prevHash: original.prevHash });
  const rows = w.rows.map((r) => (r.session_id === B && r.seq === '2' ? storedRow(forged as AuditEvent) : r));
  assert.deepEqual(failures(verify(w, rows)), [['changed', B, 2]]);
});

test('given the signed head rewritten with a recomputed hash, then the checkpoint names it changed', () => {
  const w = world();
  const last = (w.sessions[A] ?? [])[4] as AuditEvent & { eventType: 'SessionClosed' };
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = last;
  const forged = chainEvent({ ...rest, payload: { ...last.payload, reason: 'forged' } }, { seq: 4, prevHash: last.prevHash });
  const rows = w.rows.map((r) => (r.session_id === A && r.seq === '4' ? storedRow(forged as AuditEvent) : r));
  assert.deepEqual(failures(verify(w, rows)), [['changed', A, 4]]);
});

test('given one event deleted (a verdict), then its seq is named missing', () => {
  const w = world();
  const rows = without(w.rows, (r) => r.session_id === B && r.seq === '2');
  assert.deepEqual(failures(verify(w, rows)), [['missing', B, 2]]);
});

test("given a session's last two events dropped, then it is named truncated at the first missing seq", () => {
  const w = world();
  const rows = without(w.rows, (r) => r.session_id === A && Number(r.seq) >= 3);
  assert.deepEqual(failures(verify(w, rows)), [['truncated', A, 3]]);
});

test('given the contents of two rows swapped (all but the key columns), then both rows are named reordered', () => {
  const w = world();
  const one = rowAt(w.rows, A, 1);
  const two = rowAt(w.rows, A, 2);
  const keys = new Set(['session_id', 'seq', 'event_id']);
  for (const column of Object.keys(one)) {
    if (keys.has(column)) continue;
    const held = one[column];
    one[column] = two[column];
    two[column] = held;
  }
  assert.deepEqual(failures(verify(w)), [
    ['reordered', A, 1],
    ['reordered', A, 2],
  ]);
});

test('given only the canonical texts of two rows swapped, then both rows are named reordered', () => {
  const w = world();
  const one = rowAt(w.rows, C, 3);
  const two = rowAt(w.rows, C, 4);
  [one.canonical_text, two.canonical_text] = [two.canonical_text, one.canonical_text];
  assert.deepEqual(failures(verify(w)), [
    ['reordered', C, 3],
    ['reordered', C, 4],
  ]);
});

test('given a seq or prev_hash cell edited (no other row holds that event), then it is named changed, not reordered', () => {
  const w = world();
  rowAt(w.rows, A, 3).seq = '7';
  rowAt(w.rows, B, 3).prev_hash = 'e'.repeat(64);
  assert.deepEqual(failures(verify(w)), [
    ['changed', A, 7],
    ['changed', B, 3],
  ]);
});

test('given a row stored twice (another Kafka offset), then it counts once; a copy with an edited cell is still named', () => {
  const w = world();
  const original = rowAt(w.rows, B, 1);
  const copy = { ...original, kafka_offset: '99', projected_at: '2026-11-28 10:00:00' };
  const report = verify(w, [...w.rows, copy]);
  assert.deepEqual(failures(report), []);
  assert.equal(report.eventsChecked, w.rows.length);
  const edited = { ...original, kafka_offset: '100', sql_text: 'select 2' };
  assert.deepEqual(failures(verify(w, [...w.rows, copy, edited])), [['column-mismatch', B, 1, 'sql_text']]);
});

test('given one sql_text cell edited, then the column is named, at its session and seq', () => {
  const w = world();
  rowAt(w.rows, B, 1).sql_text = 'select 2';
  assert.deepEqual(failures(verify(w)), [['column-mismatch', B, 1, 'sql_text']]);
});

test('given actor_chain and a UInt64 cell edited, then each column is named; equal values in other shapes are not', () => {
  const w = world();
  rowAt(w.rows, A, 0).actor_chain = ['mallory'];
  rowAt(w.rows, A, 3).row_count = '2';
  rowAt(w.rows, C, 3).row_count = 1; // the same value as a number: not a mismatch
  assert.deepEqual(failures(verify(w)), [
    ['column-mismatch', A, 0, 'actor_chain'],
    ['column-mismatch', A, 3, 'row_count'],
  ]);
});

test('given a whole session deleted, then it is named missing-session', () => {
  const w = world();
  const rows = without(w.rows, (r) => r.session_id === C);
  assert.deepEqual(failures(verify(w, rows)), [['missing-session', C]]);
});

test('given a deleted session and `since` after every checkpoint, then the scope does not name it', () => {
  const w = world();
  const rows = without(w.rows, (r) => r.session_id === C);
  const after = new Date((T0 + 150_000_000) / 1000).toISOString();
  assert.deepEqual(failures(verify(w, rows, after)), []);
  const before = new Date((T0 + 100_000_000) / 1000).toISOString();
  assert.deepEqual(failures(verify(w, rows, before)), [['missing-session', C]]);
});

test('given a forged checkpoint appended (another key), then it is named bad-signature and its heads are not trusted', () => {
  const w = world();
  const chain = [...w.checkpoints];
  const mallory = newSigner();
  // It claims D is signed; D must stay uncovered.
  const forged = appendCheckpoint(chain, mallory, [headOf(w.sessions[D] ?? [])], T0 + 300_000_000);
  const report = verify(w, [...w.rows, storedRow(forged)]);
  assert.deepEqual(failures(report), [['bad-signature', CP, 3]]);
  assert.equal(report.findings.find((f) => f.kind === 'uncovered')?.sessionId, D);
  assert.deepEqual(report.checkpoints.at(-1)?.valid, false);
});

test('given a forged checkpoint under the trusted key id, then the signature fails', () => {
  const w = world();
  const chain = [...w.checkpoints];
  const mallory = { privateKey: newSigner().privateKey, keyId: w.signer.keyId };
  const forged = appendCheckpoint(chain, mallory, [headOf(w.sessions[D] ?? [])], T0 + 300_000_000);
  assert.deepEqual(failures(verify(w, [...w.rows, storedRow(forged)])), [['bad-signature', CP, 3]]);
});

test('given a checkpoint deleted, then the checkpoint chain names the gap', () => {
  const w = world();
  const rows = without(w.rows, (r) => r.session_id === CP && r.seq === '1');
  assert.deepEqual(failures(verify(w, rows)), [['checkpoint-gap', CP, 1]]);
});

test('given no trusted key, then every checkpoint is named bad-signature', () => {
  const w = world();
  const report = verifyAudit({ since: null, rows: w.rows, trustedKeys: [] });
  assert.deepEqual(failures(report), [
    ['bad-signature', CP, 0],
    ['bad-signature', CP, 1],
    ['bad-signature', CP, 2],
  ]);
});

test('given a second, different event stored under one event id (flagged), then it is named id-conflict, not a fork', () => {
  const w = world();
  const verdict = (w.sessions[B] ?? [])[2] as AuditEvent & { eventType: 'VerdictIssued' };
  const { seq: _s, prevHash: _p, hash: _h, ...rest } = verdict;
  const redecided = chainEvent({ ...rest, payload: { ...verdict.payload, decision: 'deny' } }, { seq: 2, prevHash: verdict.prevHash });
  const row = { ...storedRow(redecided as AuditEvent), id_conflict: 1 };
  assert.deepEqual(failures(verify(w, [...w.rows, row])), [['id-conflict', B, 2]]);
});

test('given a shadow verdict unlinked from its request, then it is named changed; the abandoned slot stays legitimate', () => {
  const w = world();
  const rows = w.rows.map((r) => ({ ...r }));
  const shadow = rows.find((r) => r.session_id === E && r.event_id === `${E}-s4`);
  assert.ok(shadow);
  const text = JSON.parse(shadow.canonical_text) as { prevHash: string };
  text.prevHash = 'f'.repeat(64);
  shadow.canonical_text = JSON.stringify(text);
  shadow.hash = sha256Hex(shadow.canonical_text);
  shadow.prev_hash = text.prevHash;
  assert.deepEqual(failures(verify(w, rows)), [['changed', E, 4]]);
});

test('given a deleted shadow verdict under a signed head, then the head count names the session missing', () => {
  const w = world();
  const rows = without(w.rows, (r) => r.event_id === `${E}-s4`);
  assert.deepEqual(failures(verify(w, rows)), [['missing', E]]);
});

test('given several tamperings at once, then every one is named, ordered by session then seq', () => {
  const w = world();
  rowAt(w.rows, B, 1).sql_text = 'select 2';
  const changed = rowAt(w.rows, A, 1);
  changed.canonical_text = changed.canonical_text.replace('"demo"', '"dema"');
  const rows = without(w.rows, (r) => r.session_id === C || (r.session_id === B && r.seq === '3'));
  assert.deepEqual(failures(verify(w, rows)), [
    ['changed', A, 1],
    ['column-mismatch', B, 1, 'sql_text'],
    ['missing', B, 3],
    ['missing-session', C],
  ]);
});

test('cells match across the shapes ClickHouse returns, and differ where the value differs', () => {
  assert.ok(cellMatches(1795000000000000, '1795000000000000'));
  assert.ok(cellMatches(0, '0'));
  assert.ok(cellMatches(['a', 'b'], ['a', 'b']));
  assert.ok(cellMatches(['a'], '["a"]'));
  assert.ok(!cellMatches(['a', 'b'], ['b', 'a']));
  assert.ok(!cellMatches(1, '2'));
  assert.ok(!cellMatches('1', 1));
  assert.ok(!cellMatches('x', undefined));
});
