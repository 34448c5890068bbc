// verify-chain's pure core: "nothing checked" is never a pass, and the totals are explicit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEventText, sampleSession } from '@agentgate/events';
import { EXIT } from './exit-codes.js';
import { chainQuery, exitCodeOf, summaryLines, verifyChains, type StoredRow } from './verify-chain.js';

function stored(sessionId: string): StoredRow[] {
  return sampleSession(sessionId).map((e) => ({
    session_id: e.sessionId,
    seq: String(e.seq),
    hash: e.hash,
    prev_hash: e.prevHash ?? '',
    canonical_text: canonicalEventText(e),
  }));
}

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

test('given no rows, when verified, then nothing is ok: exit 3 and the summary says nothing was verified', () => {
  const report = verifyChains([], { session: 'nope' });
  assert.deepEqual({ checked: report.checked, verified: report.verified, ok: report.ok }, { checked: 0, verified: 0, ok: false });
  assert.equal(exitCodeOf(report), EXIT.nothingMatched);
  assert.notEqual(EXIT.nothingMatched, EXIT.ok);
  assert.match(summaryLines(report).join('\n'), /NOTHING VERIFIED: no events found for session nope; 0 session chains were checked/);
});

test('given intact chains, when verified, then exit 0 and "N of M ... (M checked in total)"', () => {
  const report = verifyChains([...stored(A), ...stored(B)], { most_recent: 1000 });
  assert.equal(report.ok, true);
  assert.equal(exitCodeOf(report), EXIT.ok);
  assert.equal(
    summaryLines(report).at(-1),
    '2 of 2 session chains verify (2 checked in total, 0 broken; scope: up to the 1000 most recently active sessions)',
  );
});

test('given one tampered row, when verified, then exit 1 and the broken session is named with its seq', () => {
  const rows = [...stored(A), ...stored(B)];
  const victim = rows.find((r) => r.session_id === B && r.seq === '2')!;
  victim.canonical_text = victim.canonical_text.replace('"allow"', '"deny"');
  const report = verifyChains(rows, { most_recent: 10 });
  assert.equal(exitCodeOf(report), EXIT.failure);
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.broken.map((b) => [b.session_id, b.at_seq, b.code]),
    [[B, 2, 'AG_ERR_HASH_CHAIN_BROKEN']],
  );
  const lines = summaryLines(report);
  assert.match(lines[0]!, new RegExp(`^BROKEN  ${B}  at seq 2: `));
  assert.match(lines.at(-1)!, /^1 of 2 session chains verify \(2 checked in total, 1 broken/);
});

test('the session id reaches ClickHouse only as a quoted literal', () => {
  const q = chainQuery('agentgate', { session: "x' OR 1=1 --", limit: 5 });
  assert.match(q, /WHERE session_id = 'x\\' OR 1=1 --'/);
  assert.match(chainQuery('agentgate', { session: undefined, limit: 5 }), /LIMIT 5\)/);
});
