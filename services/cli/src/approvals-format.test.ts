import { test } from 'node:test';
import assert from 'node:assert/strict';
import { problemOf } from './approvals-client.js';
import { formatList, formatProblem, formatView, oneLine, problemExitCode, progressOf, requesterOf, timeOf } from './approvals-format.js';

const NOW = Date.parse('2026-11-28T17:00:00Z');

test('list: one row per request with requester chain, progress, relative expiry and a one-line statement', () => {
  const text = formatList(
    [
      {
        id: 'a1',
        status: 'pending',
        requester: 'alice',
        actChain: ['dba-agent', 'planner'],
        connection: 'demo',
        ruleId: 'r-delete',
        text: 'DELETE FROM customers\n  WHERE id = 1',
        requestedAt: '2026-11-28T16:58:00Z',
        expiresAt: '2026-11-28T17:14:00Z',
        approvals: 1,
        quorum: 2,
      },
      { id: 'a2', status: 'approved', requester: 'bob', actChain: [], connection: null, text: 'x'.repeat(100), expiresAt: 'soon' },
      'not an object',
    ],
    NOW,
  );
  const [header, first, second, ...rest] = text.trimEnd().split('\n');
  assert.match(header!, /^id +status +requester +connection +rule +approvals +expires +statement$/);
  assert.match(
    first!,
    /^a1 +pending +dba-agent for alice via planner +demo +r-delete +1\/2 +in 14 min +DELETE FROM customers WHERE id = 1$/,
  );
  assert.match(second!, /^a2 +approved +bob +- +- +-\/- +soon +x{59}…$/);
  assert.deepEqual(rest, []);
});

test('tolerant readers: times by magnitude, chains of objects, per-group quorums and lists of approvals', () => {
  const iso = '2026-11-28T17:00:00.000Z';
  for (const v of [iso, NOW / 1000, NOW, NOW * 1000]) assert.equal(timeOf(v)?.toISOString(), iso, String(v));
  assert.equal(timeOf('not a time'), undefined);
  assert.equal(timeOf(null), undefined);
  assert.equal(requesterOf({ requester: 'alice', actChain: [{ subject: 'dba-agent', issuer: 'x' }] }), 'dba-agent for alice');
  assert.equal(requesterOf({}), '-');
  assert.equal(progressOf({ approvals: [{ by: 'carol' }], quorum: { approvers: 1, dbas: 1 } }), '1/approvers:1 dbas:1');
  assert.equal(oneLine('a\n\tb'), 'a b');
});

test('show: every top-level field, known ones first, nested objects and lists indented, the statement as a block', () => {
  const text = formatView(
    {
      extra: 'kept',
      status: 'pending',
      id: 'a1',
      text: 'DELETE FROM customers\nWHERE id = 1',
      expiresAt: '2026-11-28T17:14:00Z',
      actChain: ['dba-agent'],
      approverGroups: ['approvers', 'dbas'],
      decisions: [{ approver: 'carol', verdict: 'approve', comment: 'ok' }],
      blastRadius: { rows: 12, tables: ['customers'] },
      missing: null,
      empty: [],
    },
    NOW,
  );
  assert.equal(
    text,
    [
      'id              a1',
      'status          pending',
      'actChain        dba-agent',
      'text',
      '  DELETE FROM customers',
      '  WHERE id = 1',
      'expiresAt       2026-11-28 17:14:00.000 UTC (in 14 min)',
      'extra           kept',
      'approverGroups  approvers, dbas',
      'decisions',
      '  - approver  carol',
      '    verdict   approve',
      '    comment   ok',
      'blastRadius',
      '  rows    12',
      '  tables  customers',
      'missing         -',
      'empty           (none)',
      '',
    ].join('\n'),
  );
  assert.equal(formatView('odd', NOW), 'odd\n');
});

test('problems: "<code>: <detail>" with a hint where one helps; unknown ids and bad requests exit 2, refusals 1', () => {
  const closed = problemOf(
    409,
    'Conflict',
    JSON.stringify({ type: 'about:blank', title: 'Closed', status: 409, detail: 'already approved', code: 'AG_ERR_APPROVAL_CLOSED' }),
  );
  assert.equal(formatProblem('approvals approve', closed), 'agentgate approvals approve: AG_ERR_APPROVAL_CLOSED: already approved\n');
  assert.equal(problemExitCode(closed), 1);
  const unauth = problemOf(401, 'Unauthorized', JSON.stringify({ code: 'AG_ERR_UNAUTHENTICATED', title: 'no valid bearer token' }));
  assert.match(
    formatProblem('approvals list', unauth),
    /^agentgate approvals list: AG_ERR_UNAUTHENTICATED: no valid bearer token\n {2}get a fresh token/,
  );
  assert.equal(problemExitCode(problemOf(404, 'Not Found', JSON.stringify({ code: 'AG_ERR_APPROVAL_NOT_FOUND', detail: 'x' }))), 2);
  assert.equal(problemExitCode(problemOf(400, 'Bad Request', JSON.stringify({ code: 'AG_ERR_BAD_REQUEST', detail: 'x' }))), 2);
  for (const code of ['AG_ERR_APPROVAL_FORBIDDEN', 'AG_ERR_APPROVAL_SELF', 'AG_ERR_APPROVAL_DUPLICATE', 'AG_ERR_INTERNAL']) {
    assert.equal(problemExitCode(problemOf(403, '', JSON.stringify({ code, detail: 'x' }))), 1, code);
  }
  const html = problemOf(502, 'Bad Gateway', '<html>\n<body>upstream down</body></html>');
  assert.equal(html.code, 'HTTP 502');
  assert.equal(html.detail, '<html> <body>upstream down</body></html>');
  assert.equal(problemExitCode(html), 1);
  assert.equal(problemExitCode(problemOf(404, 'Not Found', '')), 2);
  assert.equal(problemOf(500, 'Internal Server Error', '').detail, 'Internal Server Error');
});
