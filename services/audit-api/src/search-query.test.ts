import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approvalIdsOf, approvalsQuery, searchQuery, searchResults, type SearchFilters, type SearchRow } from './search-query.js';

/**
 * Splits SQL into its skeleton (every string literal replaced by ?) and the decoded literals,
 * lexing quoted strings as ClickHouse does (backslash escapes, '' for a quote).
 */
export function lexLiterals(sql: string): { skeleton: string; literals: string[] } {
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', b: '\b', f: '\f' };
  let skeleton = '';
  const literals: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c !== "'") {
      skeleton += c;
      i++;
      continue;
    }
    let value = '';
    i++;
    for (;;) {
      if (i >= sql.length) throw new Error('unterminated literal');
      const d = sql[i]!;
      if (d === '\\') {
        const e = sql[i + 1]!;
        value += escapes[e] ?? e;
        i += 2;
      } else if (d === "'" && sql[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (d === "'") {
        i++;
        break;
      } else {
        value += d;
        i++;
      }
    }
    skeleton += '?';
    literals.push(value);
  }
  return { skeleton, literals };
}

export const PAYLOADS: readonly string[] = [
  "'",
  "''",
  "\\'",
  '\\',
  'a\\',
  "'); DROP TABLE x; --",
  "' OR 1=1 --",
  "x' UNION ALL SELECT canonical_text FROM agentgate.events --",
  '%s %n {0}',
  '%_%',
  'nul\0byte',
  '\0',
  'line\nbreak\r\ttab\b\f',
  'ünïcödé 🙂 中文 \u202e',
  '`backquote`',
  '"double"',
  '/* comment',
  `${"'\\".repeat(500)}${'x'.repeat(3000)}`,
];

const BASE: SearchFilters = { limit: 100, offset: 0 };
const DB = 'agentgate';

const FILTERS: { name: keyof SearchFilters; occurrences: number; expect: (v: string) => string }[] = [
  { name: 'identity', occurrences: 2, expect: () => '(subject = ? OR actor = ?)' },
  { name: 'connection', occurrences: 1, expect: () => 'visitParamExtractString(payload_json, ?) = ?' },
  { name: 'kind', occurrences: 1, expect: () => 'statement_kind = ?' },
  { name: 'text', occurrences: 1, expect: () => 'positionCaseInsensitiveUTF8(sql_text, ?) > 0' },
  { name: 'decision', occurrences: 1, expect: () => 'r_requests > 0 AND v_decision = ? ORDER BY' },
];

test('each filter adds its condition; no filter matches every request', () => {
  const none = lexLiterals(searchQuery(DB, BASE)).skeleton;
  for (const f of FILTERS) {
    const { skeleton } = lexLiterals(searchQuery(DB, { ...BASE, [f.name]: 'v' }));
    assert.ok(skeleton.includes(f.expect('v')), `${f.name}: ${skeleton}`);
    assert.equal(none.includes(f.expect('v')), false, f.name);
  }
  const timed = searchQuery(DB, { ...BASE, fromUs: 1_700_000_000_000_000, untilUs: 1_800_000_000_000_000 });
  assert.ok(timed.includes('time_us >= 1700000000000000'));
  assert.ok(timed.includes('time_us < 1800000000000000'));
  assert.ok(searchQuery(DB, { limit: 7, offset: 21 }).endsWith('LIMIT 21, 7'));
  assert.ok(none.includes('FROM `agentgate`.events'));
  assert.ok(none.includes('ORDER BY request_time_us DESC'));
});

test('the text filter is a plain substring: LIKE wildcards mean themselves', () => {
  const { skeleton } = lexLiterals(searchQuery(DB, { ...BASE, text: '%_%' }));
  assert.equal(/LIKE/i.test(skeleton), false);
});

test('every injection payload, in every filter, is exactly one quoted literal', () => {
  for (const f of FILTERS) {
    const benign = lexLiterals(searchQuery(DB, { ...BASE, [f.name]: 'benign' }));
    for (const payload of PAYLOADS) {
      const sql = searchQuery(DB, { ...BASE, [f.name]: payload });
      const lexed = lexLiterals(sql);
      // Same statement shape as with a harmless value: the payload changed no SQL outside a literal.
      assert.equal(lexed.skeleton, benign.skeleton, `${f.name} ${JSON.stringify(payload)}`);
      assert.equal(lexed.literals.filter((l) => l === payload).length, f.occurrences, `${f.name} ${JSON.stringify(payload)}`);
      assert.equal(sql.includes('\0'), false, 'NUL bytes are escaped');
    }
  }
});

test('the database name and approval ids are quoted too', () => {
  const q = searchQuery('db`; DROP TABLE x; --', BASE);
  assert.ok(q.includes('FROM `db\\`; DROP TABLE x; --`.events'));
  const ids = ["a'); DROP TABLE x; --", 'b\\'];
  const lexed = lexLiterals(approvalsQuery(DB, ids));
  assert.deepEqual(
    lexed.literals.filter((l) => ids.includes(l)),
    ids,
  );
  assert.ok(lexed.skeleton.includes('WHERE session_id IN (?, ?)'));
});

test('results join the approval outcome and compute the duration', () => {
  const row: SearchRow = {
    request_id: 'r3',
    session_id: 's1',
    request_time_us: '1795000000001000',
    subject: 'dave',
    actor: 'demo-agent',
    protocol: 'postgres',
    connection: 'demo',
    statement_kind: 'DeleteStmt',
    sql_text: 'DELETE FROM orders',
    decision: 'allow',
    rule_id: 'approve-deletes',
    policy_version: 'demo-3',
    live_verdicts: '2',
    shadow_verdicts: '0',
    outcome: 'ok',
    row_count: '3',
    error_code: '',
    response_time_us: '1795000000004000',
    responses: '1',
    approval_id: 'a1',
  };
  const unanswered: SearchRow = { ...row, request_id: 'r4', live_verdicts: '0', responses: '0', response_time_us: '0', approval_id: '' };
  assert.deepEqual(approvalIdsOf([row, unanswered, row]), ['a1']);
  const [approved, pending] = searchResults(
    [row, unanswered],
    [
      { approval_id: 'a1', event_type: 'ApprovalDecided', subject: 'bob', decision: 'approve', outcome: '', time_us: '1795000000002000' },
      { approval_id: 'a1', event_type: 'ApprovalResolved', subject: '', decision: '', outcome: 'approved', time_us: '1795000000002500' },
      { approval_id: 'other', event_type: 'ApprovalResolved', subject: '', decision: '', outcome: 'denied', time_us: '1' },
    ],
  );
  assert.equal(approved?.durationUs, 3000);
  assert.deepEqual(approved?.verdict, { decision: 'allow', ruleId: 'approve-deletes', policyVersion: 'demo-3' });
  assert.deepEqual(approved?.approval?.decisions, [{ by: 'bob', decision: 'approve', at: '2026-11-18T11:06:40.002Z' }]);
  assert.equal(approved?.approval?.outcome, 'approved');
  assert.equal(approved?.response?.rowCount, 3);
  assert.equal(pending?.verdict, null);
  assert.equal(pending?.response, null);
  assert.equal(pending?.durationUs, null);
  assert.equal(pending?.approval, null);
});
