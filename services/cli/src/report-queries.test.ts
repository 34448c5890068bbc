import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditReader } from './backends.js';
import {
  accessQuery,
  approvalEventsQuery,
  collectReport,
  deniedCountQuery,
  deniedQuery,
  maskedQuery,
  periodFilter,
  policyQuery,
  privilegedCountQuery,
  privilegedQuery,
  unmaskedQuery,
  withApprovals,
  type PrivilegedDbRow,
  type ReportQueryOptions,
} from './report-queries.js';

const SINCE = Date.UTC(2026, 10, 1) * 1000;
const UNTIL = Date.UTC(2026, 10, 2) * 1000;
const options = (o: Partial<ReportQueryOptions> = {}): ReportQueryOptions => ({
  database: 'agentgate',
  sinceUs: SINCE,
  untilUs: UNTIL,
  limit: 100,
  sensitiveColumns: ['card_number', 'ssn'],
  ...o,
});
const ALL = [
  accessQuery,
  privilegedQuery,
  privilegedCountQuery,
  approvalEventsQuery,
  deniedQuery,
  deniedCountQuery,
  maskedQuery,
  policyQuery,
];

test('the period bounds time_us (end exclusive) and the monthly partitions by date', () => {
  assert.equal(
    periodFilter(SINCE, UNTIL),
    "event_date >= toDate('2026-11-01') AND event_date <= toDate('2026-11-02') AND time_us >= 1793491200000000 AND time_us < 1793577600000000",
  );
  for (const q of ALL) assert.ok(q(options()).includes('1793491200000000'), q.name);
});

test('every query names the database quoted and reads events without FINAL', () => {
  for (const q of [...ALL, (o: ReportQueryOptions) => unmaskedQuery(o) ?? '']) {
    const text = q(options({ database: 'audit`db' }));
    assert.ok(!/\bagentgate\./.test(text), q.name);
    assert.ok(text.includes('`audit\\`db`.'), q.name);
    assert.ok(!/`\.events FINAL/.test(text), q.name);
  }
  assert.match(policyQuery(options()), /`agentgate`\.policy_publications FINAL/);
});

test('a non-integer period or limit never reaches SQL', () => {
  assert.throws(() => accessQuery(options({ sinceUs: -1 })));
  assert.throws(() => deniedQuery(options({ untilUs: 1.5 })));
  assert.throws(() => maskedQuery(options({ limit: Number.NaN })));
});

test('sensitive column names are quoted literals, whatever they hold', () => {
  for (const payload of ["x'); DROP TABLE agentgate.events; --", 'back\\slash', "quote'", '%s%n', 'nul\u0000byte', 'line\nbreak']) {
    const q = unmaskedQuery(options({ sensitiveColumns: [payload] })) ?? '';
    const list = /ARRAY JOIN \[(.*)\] AS sensitive_column/s.exec(q)?.[1];
    assert.ok(list !== undefined, payload);
    // One literal: starts and ends with a quote, and every inner quote is escaped.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a raw NUL inside the literal is what this refuses
    assert.match(list, /^'(?:[^'\\\n\u0000]|\\.)*'$/s, JSON.stringify(payload));
  }
  assert.equal(unmaskedQuery(options({ sensitiveColumns: [] })), undefined);
});

test('privileged statements are found by main kind and by any statement of a multi-statement text', () => {
  const q = privilegedQuery(options());
  assert.match(q, /statement_kind IN \('CreateStmt', .*'DeleteStmt', 'UpdateStmt'.*'GrantStmt'.*'AlterRoleStmt'/s);
  assert.match(
    q,
    /arrayExists\(k -> has\(\[.*'TruncateStmt'.*\], k\), extractAll\(visitParamExtractRaw\(payload_json, 'statementKinds'\)/s,
  );
  assert.match(q, /shadow = 0/);
});

const priv = (over: Partial<PrivilegedDbRow>): PrivilegedDbRow => ({
  time_us: '1793491200000000',
  session_id: 's1',
  request_id: 'r1',
  subject: 'alice',
  actor: 'dba-agent',
  connection: 'demo',
  statement_kind: 'DeleteStmt',
  statement: 'DELETE FROM t',
  verdict_decision: 'pending_approval',
  verdict_rule: 'approve-deletes',
  verdict_approval: '',
  ...over,
});

test('approvals join their requests: who decided, in order, and how it ended', () => {
  const rows = withApprovals(
    [
      priv({ request_id: 'r1' }),
      priv({ request_id: 'r2', verdict_decision: 'allow', verdict_approval: '' }),
      priv({ request_id: 'r3', verdict_approval: 'a3' }),
      priv({ request_id: 'r4', verdict_decision: 'deny', verdict_rule: 'no-ddl' }),
    ],
    [
      { event_type: 'ApprovalRequested', request_id: 'r1', approval_id: 'a1', subject: 'alice', decision: 'pending_approval', outcome: '' },
      { event_type: 'ApprovalDecided', request_id: '', approval_id: 'a1', subject: 'carol', decision: 'approve', outcome: '' },
      { event_type: 'ApprovalDecided', request_id: '', approval_id: 'a1', subject: 'dave', decision: 'approve', outcome: '' },
      { event_type: 'ApprovalDecided', request_id: '', approval_id: 'a1', subject: 'dave', decision: 'approve', outcome: '' },
      { event_type: 'ApprovalResolved', request_id: '', approval_id: 'a1', subject: '', decision: '', outcome: 'approved' },
      // The retried statement ran under the grant.
      { event_type: 'GrantUsed', request_id: 'r2', approval_id: 'a1', subject: 'alice', decision: '', outcome: 'used' },
      { event_type: 'ApprovalRequested', request_id: 'r3', approval_id: 'a3', subject: 'alice', decision: 'pending_approval', outcome: '' },
    ],
  );
  assert.deepEqual(
    rows.map((r) => [r.requestId, r.approvalId, r.approvers, r.approvalOutcome]),
    [
      ['r1', 'a1', ['carol (approve)', 'dave (approve)'], 'approved'],
      ['r2', 'a1', ['carol (approve)', 'dave (approve)'], 'approved'],
      ['r3', 'a3', [], 'pending'],
      ['r4', '', [], ''],
    ],
  );
  assert.equal(rows[0]?.at, '2026-11-01T00:00:00.000Z');
  assert.equal(rows[3]?.ruleId, 'no-ddl');
});

test('collectReport runs every section and maps the rows (64-bit counts arrive as strings)', async () => {
  const seen: string[] = [];
  const reader: AuditReader = {
    async rows<T>(query: string): Promise<T[]> {
      seen.push(query);
      const rows: Record<string, unknown>[] = query.includes("count() AS total FROM `agentgate`.events\nWHERE event_type = 'VerdictIssued'")
        ? [{ total: '7' }]
        : query.includes('AS total')
          ? [{ total: '2' }]
          : query.includes('sum(requests) AS requests')
            ? [{ subject: 'alice', actor: 'demo-agent', connection: 'demo', sessions: '3', requests: '120', denied: '2' }]
            : query.includes('rule_or_detector')
              ? [{ subject: 'alice', actor: 'report-agent', rule_or_detector: 'column:card_number', cells: '250' }]
              : query.includes('sensitive_column')
                ? [{ subject: 'dave', actor: 'dave', sensitive_column: 'ssn', results: '6', row_total: '60' }]
                : query.includes('policy_publications')
                  ? [
                      {
                        published_at_us: '1793491200000000',
                        policy_name: 'demo',
                        version: 'v1',
                        shadow: 1,
                        published_by: 'erin',
                        publisher_issuer: 'iss',
                        content_hash: 'h',
                      },
                    ]
                  : [];
      return rows as T[];
    },
    close: async () => {},
  };
  const report = await collectReport(reader, options(), { title: 't', generatedAt: '2026-11-02T00:00:00.000Z', verification: null });
  assert.equal(seen.length, 9);
  assert.deepEqual(report.period, { since: '2026-11-01T00:00:00.000Z', until: '2026-11-02T00:00:00.000Z' });
  assert.deepEqual(report.access, [{ subject: 'alice', actor: 'demo-agent', connection: 'demo', sessions: 3, requests: 120, denied: 2 }]);
  assert.equal(report.denied.total, 7);
  assert.equal(report.privileged.total, 2);
  assert.deepEqual(report.masking.hidden, [{ subject: 'alice', actor: 'report-agent', key: 'column:card_number', cells: 250 }]);
  assert.deepEqual(report.masking.unmasked, [{ subject: 'dave', actor: 'dave', column: 'ssn', results: 6, rows: 60 }]);
  assert.equal(report.policyChanges[0]?.shadow, true);
  assert.equal(report.policyChanges[0]?.at, '2026-11-01T00:00:00.000Z');
});

test('the approval a request asked for wins over a grant it was later counted under', () => {
  const [row] = withApprovals(
    [priv({ request_id: 'r1' })],
    [
      { event_type: 'ApprovalRequested', request_id: 'r1', approval_id: 'a1', subject: 'alice', decision: '', outcome: '' },
      { event_type: 'GrantUsed', request_id: 'r1', approval_id: 'a0', subject: 'alice', decision: '', outcome: 'used' },
    ],
  );
  assert.equal(row?.approvalId, 'a1');
});
