import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportSummary, reportTables, toJson } from './report.js';
import { testReport, testVerification } from './test-report.js';

const count = (label: string, r = testReport()): number | undefined => reportSummary(r).find((c) => c.label === label)?.value;

test('the summary counts each section', () => {
  assert.equal(count('identities'), 2);
  assert.equal(count('sessions'), 7);
  assert.equal(count('requests'), 137);
  // Totals, not the rows a limit kept.
  assert.equal(count('privileged actions'), 5);
  assert.equal(count('privileged actions approved'), 1);
  assert.equal(count('denied attempts'), 3);
  assert.equal(count('masked cells'), 262);
  assert.equal(count('results with unmasked sensitive columns'), 6);
  assert.equal(count('policy publications'), 1);
  assert.equal(count('sessions verified'), 41);
  assert.equal(count('events verified'), 977);
  assert.equal(count('verification findings'), 1);
  assert.equal(count('checkpoints'), 2);
});

test('one identity on two connections is one identity', () => {
  const r = testReport();
  r.access = [
    { subject: 'a', actor: 'x', connection: 'c1', sessions: 1, requests: 1, denied: 0 },
    { subject: 'a', actor: 'x', connection: 'c2', sessions: 1, requests: 1, denied: 0 },
  ];
  assert.equal(count('identities', r), 1);
});

test('without a verification the report says it was not run and counts nothing for it', () => {
  const r = testReport({ verification: null });
  assert.equal(count('sessions verified', r), undefined);
  const v = reportTables(r).filter((t) => t.section === 'verification');
  assert.deepEqual(
    v.map((t) => t.rows),
    [[['not run']]],
  );
});

test('the verification tables carry every finding, checkpoint signature and trusted key', () => {
  const tables = reportTables(testReport());
  const part = (p: string) => tables.find((t) => t.section === 'verification' && t.part === p);
  assert.deepEqual(part('result')?.rows, [['NOT OK', '2026-11-01T00:00:00.000Z', '41', '977', '1', '2']]);
  assert.deepEqual(part('findings')?.rows, [['missing', 'sess-9', '4', '', 'seq 4 is absent, seq 5 follows']]);
  assert.deepEqual(part('checkpoints')?.rows, [
    ['checkpointer-1', '7', 'k-2f1e', '2026-11-28T19:48:53.225Z', '41', 'c2lnbmF0dXJlLW9uZQ==', 'valid'],
    ['checkpointer-1', '8', 'k-2f1e', '2026-11-28T19:49:53.225Z', '41', 'c2lnbmF0dXJlLXR3bw==', 'INVALID'],
  ]);
  assert.deepEqual(part('trusted-keys')?.rows, [['k-2f1e', 'MCowBQYDK2VwAyEAtrustedpublickeybase64AAAAAAAAAAAAAAAAAA=']]);
  const ok = reportTables(testReport({ verification: testVerification({ ok: true, since: null }) }));
  assert.deepEqual(ok.find((t) => t.part === 'result')?.rows[0]?.slice(0, 2), ['OK', 'everything']);
});

test('a list a limit cut says so', () => {
  const tables = reportTables(testReport());
  assert.equal(tables.find((t) => t.section === 'privileged')?.note, 'showing the first 2 of 5');
  const whole = testReport();
  whole.denied.total = whole.denied.rows.length;
  assert.equal(reportTables(whole).find((t) => t.section === 'denied')?.note, undefined);
});

test('every table row has one cell per column', () => {
  for (const t of reportTables(testReport())) {
    for (const row of t.rows) assert.equal(row.length, t.columns.length, `${t.section}.${t.part}`);
  }
});

test('approvers are listed in the privileged actions', () => {
  const t = reportTables(testReport()).find((x) => x.section === 'privileged');
  const approvers = t?.columns.indexOf('approvers') ?? -1;
  assert.equal(t?.rows[0]?.[approvers], 'carol, dave');
});

test('toJson keeps every section and adds the summary', () => {
  const parsed = JSON.parse(toJson(testReport())) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), [
    'title',
    'period',
    'generatedAt',
    'summary',
    'access',
    'privileged',
    'denied',
    'masking',
    'policyChanges',
    'verification',
  ]);
  assert.deepEqual(parsed['verification'], testVerification());
  assert.deepEqual(parsed['access'], testReport().access);
});
