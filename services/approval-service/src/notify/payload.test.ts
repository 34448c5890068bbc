import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalNotice } from './notice.js';
import { jsonNotification, renderBody, slackMessage, slackStatement, SLACK_STATEMENT_MAX } from './payload.js';

export const NOTICE: ApprovalNotice = {
  approvalId: '8d7c1c1e-0000-4000-8000-000000000001',
  url: 'http://127.0.0.1:18080/approvals/8d7c1c1e-0000-4000-8000-000000000001',
  requester: 'alice',
  actChain: ['dba-agent', 'planner'],
  connection: 'demo',
  text: "DELETE FROM customers WHERE id < 10 AND note <> 'a&b'",
  ruleId: 'agents-delete-needs-approval',
  reason: 'DELETE needs approval',
  expiresAtUs: 1_764_349_200_000_000,
  approverGroups: ['approvers', 'dbas'],
};

test('json: the documented fields, expiry as ISO 8601, nothing else', () => {
  const doc = JSON.parse(renderBody('json', NOTICE)) as Record<string, unknown>;
  assert.deepEqual(doc, {
    type: 'agentgate.approval.requested',
    approvalId: NOTICE.approvalId,
    url: NOTICE.url,
    requester: 'alice',
    actChain: ['dba-agent', 'planner'],
    connection: 'demo',
    text: NOTICE.text,
    ruleId: 'agents-delete-needs-approval',
    reason: 'DELETE needs approval',
    expiresAt: '2025-11-28T17:00:00.000Z',
    approverGroups: ['approvers', 'dbas'],
  });
  assert.equal(jsonNotification({ ...NOTICE, connection: null }).connection, null);
});

test('slack: fallback text and blocks with requester chain, connection, rule, reason, statement, expiry and link', () => {
  const message = JSON.parse(renderBody('slack', NOTICE)) as {
    text: string;
    blocks: { type: string; text: { type: string; text: string } }[];
  };
  assert.deepEqual(Object.keys(message), ['text', 'blocks']);
  assert.match(message.text, /dba-agent acting for alice \(via planner\) on demo/);
  const [summary, statement, link] = message.blocks.map((b) => {
    assert.equal(b.type, 'section');
    assert.equal(b.text.type, 'mrkdwn');
    return b.text.text;
  });
  assert.match(summary!, /\*Approval requested\* by dba-agent acting for alice \(via planner\)/);
  assert.match(summary!, /\*Connection:\* demo/);
  assert.match(summary!, /\*Rule:\* agents-delete-needs-approval: DELETE needs approval/);
  assert.match(summary!, /\*Approvers:\* approvers, dbas/);
  assert.match(summary!, /<!date\^1764349200\^\{date_short_pretty\} \{time\}\|2025-11-28T17:00:00\.000Z>/);
  // Slack's control characters are escaped inside the code block.
  assert.equal(statement, "```DELETE FROM customers WHERE id &lt; 10 AND note &lt;&gt; 'a&amp;b'```");
  assert.equal(link, `<${NOTICE.url}|Review, approve or deny> (${NOTICE.approvalId})`);
  const direct = slackMessage({ ...NOTICE, actChain: [], connection: null });
  assert.match(direct.text, /^Approval requested by alice on \(none\)/);
});

test('slack: a long statement is cut to the limit, and backticks cannot close the block', () => {
  const long = 'x'.repeat(SLACK_STATEMENT_MAX + 500);
  const shown = slackStatement(long);
  assert.ok(shown.startsWith('x'.repeat(SLACK_STATEMENT_MAX)));
  assert.ok(!shown.startsWith('x'.repeat(SLACK_STATEMENT_MAX + 1)));
  assert.match(shown, /… \(500 more characters\)$/);
  const block = slackMessage({ ...NOTICE, text: long }).blocks[1] as { text: { text: string } };
  assert.ok(block.text.text.length < 3000, 'within Slack section limit');
  assert.doesNotMatch(slackStatement('select 1 ```; drop'), /```/);
  const angles = slackMessage({ ...NOTICE, text: '<'.repeat(5000) }).blocks[1] as { text: { text: string } };
  assert.ok(angles.text.text.length < 3000, 'escaping cannot grow the block past the limit');
  assert.match(angles.text.text, /… \(4500 more characters\)/);
});
