import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type BackendFrame, dataRow, errorResponse, readyForQuery } from '@agentgate/pg-wire';
import { ExplainReply, explainMessages, summarizePlan } from './blast-radius.js';

function frame(raw: Buffer): BackendFrame {
  return { type: String.fromCharCode(raw[0]!), raw } as BackendFrame;
}

const DELETE_PLAN = JSON.stringify([
  {
    Plan: {
      'Node Type': 'ModifyTable',
      Operation: 'Delete',
      'Relation Name': 'orders',
      Schema: 'public',
      'Plan Rows': 0,
      Plans: [{ 'Node Type': 'Seq Scan', 'Plan Rows': 1234.4 }],
    },
  },
]);

test('a DELETE plan gives the rows its modifying node reads, and what it modifies', () => {
  assert.deepEqual(summarizePlan(DELETE_PLAN), { estimatedRows: 1234, planSummary: 'Delete on public.orders', error: null });
  assert.equal(summarizePlan('not json').error, 'the plan is not JSON');
  assert.equal(summarizePlan('[]').error, 'the plan is empty');
});

/** Frontend messages of a buffer: type byte, Int32 length (itself included), body. */
function messages(wire: Buffer): { type: string; body: string }[] {
  const out: { type: string; body: string }[] = [];
  for (let at = 0; at < wire.length; ) {
    const length = wire.readInt32BE(at + 1);
    out.push({ type: String.fromCharCode(wire[at]!), body: wire.toString('utf8', at + 5, at + 1 + length) });
    at += 1 + length;
  }
  return out;
}

test('the estimate runs read-only under a statement timeout, as EXPLAIN without ANALYZE, the statement alone in a Parse, then rolls back', () => {
  const sent = messages(explainMessages('DELETE FROM orders WHERE id = $1', ['7'], 2000));
  assert.deepEqual(
    sent.map((m) => m.type),
    ['Q', 'P', 'B', 'E', 'S', 'Q'],
  );
  assert.match(sent[0]!.body, /^BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 2000\0$/);
  // Parse: unnamed statement (empty name), then the query: the server refuses several statements here.
  assert.match(sent[1]!.body, /^\0EXPLAIN \(FORMAT JSON, VERBOSE\) DELETE FROM orders WHERE id = \$1\0/);
  assert.ok(sent.every((m) => !/ANALYZE/.test(m.body)));
  assert.ok(sent[2]!.body.includes('7'), 'the parameter is bound');
  assert.match(sent[5]!.body, /^ROLLBACK\0$/);
});

test('the reply waits for all three ReadyForQuery and reports a refusal by SQLSTATE only', () => {
  const ok = new ExplainReply();
  const frames = [readyForQuery('T'), dataRow([DELETE_PLAN]), readyForQuery('T'), readyForQuery('I')];
  const answers = frames.map((f) => ok.push(frame(f)));
  assert.deepEqual(answers.slice(0, 3), [{ done: false }, { done: false }, { done: false }]);
  assert.deepEqual(answers[3], { done: true, answer: { estimatedRows: 1234, planSummary: 'Delete on public.orders', error: null } });

  const refused = new ExplainReply();
  const err = errorResponse({
    severity: 'ERROR',
    code: '57014',
    message: 'canceling statement due to statement timeout: secret 4111111111111111',
  });
  let last: ReturnType<ExplainReply['push']> = { done: false };
  for (const f of [readyForQuery('T'), err, readyForQuery('E'), readyForQuery('I')]) last = refused.push(frame(f));
  assert.deepEqual(last, { done: true, answer: { estimatedRows: null, planSummary: null, error: 'the estimate timed out' } });
});
