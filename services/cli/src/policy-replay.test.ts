import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEventText, sampleSession, type AuditEventOf } from '@agentgate/events';
import { diffReplay, parseTime, replayExitCode, requestOf, verdictsQuery, type ReplayedRequest } from './policy-replay.js';

const item = (id: string, live: ReplayedRequest['live'], decision: string, ruleId: string | null): ReplayedRequest => ({
  requestId: id,
  sessionId: 's1',
  timeUs: 1_795_000_000_000_000,
  subject: 'demo-agent',
  connection: 'demo',
  sql: `select ${id}`,
  live,
  candidate: { decision, ruleId },
});
const allowDefault = { decision: 'allow', ruleId: null, policyVersion: 'minimal-2' };

test('given identical decisions, when diffed, then nothing changes and the exit code is 0', () => {
  const report = diffReplay([item('a', allowDefault, 'allow', null)], 3);
  assert.equal(report.changed, 0);
  assert.equal(report.unchanged, 1);
  assert.equal(replayExitCode(report), 0);
});

test('given stricter decisions, when diffed, then they are counted by (live -> candidate) with examples, and the exit code is 1', () => {
  const items = [
    item('a', allowDefault, 'deny', 'deny-secrets'),
    item('b', allowDefault, 'deny', 'deny-secrets'),
    item('c', allowDefault, 'deny', 'deny-secrets'),
    item('d', allowDefault, 'deny', 'deny-ddl'),
    item('e', allowDefault, 'allow', null),
  ];
  const report = diffReplay(items, 2);
  assert.equal(report.requests, 5);
  assert.equal(report.changed, 4);
  assert.deepEqual(
    report.changes.map((c) => [c.from, c.to, c.count, c.examples.map((e) => e.request_id)]),
    [
      ['allow/(default)', 'deny/deny-secrets', 3, ['a', 'b']],
      ['allow/(default)', 'deny/deny-ddl', 1, ['d']],
    ],
  );
  assert.equal(replayExitCode(report), 1);
});

test('given the same decision under another rule, when diffed, then it is reported apart and does not gate', () => {
  const report = diffReplay([item('a', allowDefault, 'allow', 'allow-public-reads')], 3);
  assert.equal(report.changed, 0);
  assert.equal(report.rule_only, 1);
  assert.equal(report.rule_only_changes[0]?.to, 'allow/allow-public-reads');
  assert.equal(replayExitCode(report), 0);
});

test('given a request without a recorded live verdict, when diffed, then it counts as a change from none', () => {
  const report = diffReplay([item('a', null, 'allow', null)], 3);
  assert.equal(report.without_live_verdict, 1);
  assert.equal(report.changes[0]?.from, 'none');
  assert.equal(replayExitCode(report), 1);
});

test('a recorded request is rebuilt from its stored canonical text, hash included', () => {
  const request = sampleSession()[1] as AuditEventOf<'RequestObserved'>;
  assert.deepEqual(requestOf({ canonical_text: canonicalEventText(request), hash: request.hash }), request);
});

test('live verdicts are read without shadow verdicts', () => {
  assert.match(verdictsQuery('agentgate', 1, 2), /shadow = 0/);
});

test('times are ISO 8601 or a duration back from now', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');
  assert.equal(parseTime('2h', now), Date.parse('2026-11-28T08:00:00Z') * 1000);
  assert.equal(parseTime('2026-11-27T00:00:00Z', now), Date.parse('2026-11-27T00:00:00Z') * 1000);
  assert.throws(
    () => parseTime('yesterday', now),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
});
