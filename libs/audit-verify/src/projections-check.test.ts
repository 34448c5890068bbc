import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProjections, withProjectionFindings, type Projected } from './projections-check.js';
import type { VerificationReport } from './findings.js';
import type { StoredEventRow } from './verify.js';

const row = (seq: number, event_type: string, extra: Record<string, unknown>): StoredEventRow => ({
  event_id: `e${seq}`,
  event_type,
  session_id: 's1',
  seq: String(seq),
  time_us: String(1000 + seq),
  prev_hash: '',
  hash: `h${seq}`,
  canonical_text: '{}',
  shadow: 0,
  request_id: '',
  ...extra,
});

// A session: opened, a request, its shadow verdict (not enforced), its live verdict, its response.
const rows = [
  row(0, 'SessionOpened', { subject: 'p', actor: 'a', connection: 'demo' }),
  row(1, 'RequestObserved', { request_id: 'r1', subject: 'p', actor: 'a', statement_kind: 'DeleteStmt', sql_text: 'DELETE FROM t' }),
  row(2, 'VerdictIssued', { request_id: 'r1', decision: 'allow', rule_id: 'shadow-rule', shadow: 1, time_us: '1003' }),
  row(2, 'VerdictIssued', { request_id: 'r1', decision: 'deny', rule_id: 'no-delete', time_us: '1002' }),
  row(3, 'ResponseObserved', { request_id: 'r1', outcome: 'refused', row_count: '0' }),
];

const faithful = (): Projected => ({
  requests: [
    {
      request_id: 'r1',
      session_id: 's1',
      subject: 'p',
      actor: 'a',
      statement_kind: 'DeleteStmt',
      sql_text: 'DELETE FROM t',
      decision: 'deny',
      rule_id: 'no-delete',
      outcome: 'refused',
      row_count: '0',
    },
  ],
  sessions: [{ session_id: 's1', subject: 'p', actor: 'a', connection: 'demo', head_seq: '3', head_hash: 'h3' }],
});

test('given projections that aggregate the events faithfully (shadow verdicts aside), then nothing is named', () => {
  assert.deepEqual(checkProjections(rows, faithful()), []);
});

test('given a denial turned into an allow in the requests projection, then its column is named on the request', () => {
  const p = faithful();
  p.requests = [{ ...p.requests[0]!, decision: 'allow' }];
  assert.deepEqual(
    checkProjections(rows, p).map((f) => [f.kind, f.sessionId, f.seq, f.column]),
    [['column-mismatch', 's1', 1, 'requests.decision']],
  );
});

test('given a session head or connection changed, or a request missing from the projection, then each is named', () => {
  const p = faithful();
  p.sessions = [{ ...p.sessions[0]!, head_seq: '2', connection: 'other' }];
  p.requests = [];
  assert.deepEqual(
    checkProjections(rows, p)
      .map((f) => f.column)
      .sort(),
    ['requests', 'sessions.connection', 'sessions.head_seq'],
  );
});

test('projection findings make a clean report fail, in session order', () => {
  const report: VerificationReport = {
    since: null,
    sessionsChecked: 1,
    eventsChecked: 5,
    checkpoints: [],
    trustedKeys: [],
    findings: [],
    ok: true,
  };
  const merged = withProjectionFindings(report, [
    { kind: 'column-mismatch', sessionId: 's1', seq: 1, column: 'requests.decision', detail: '' },
  ]);
  assert.equal(merged.ok, false);
  assert.equal(merged.findings.length, 1);
  assert.equal(withProjectionFindings(report, []), report);
});
