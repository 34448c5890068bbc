// runPolicyTests: the demo policy's own tests pass through the real parser; a wrong
// expectation fails and says which rule decided.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadSqlParser } from '@agentgate/sql';
import { compilePolicy, loadPolicyDir, runPolicyTests, type AnalyzeSql } from './index.js';

const DEMO_DIR = fileURLToPath(new URL('../../../deploy/policies/demo', import.meta.url));
let analyze: AnalyzeSql;

before(async () => {
  const parser = await loadSqlParser();
  analyze = (sql) => {
    const c = parser.classify(sql);
    return c.ok ? c.statements.map((s) => s.facts) : 'unparseable';
  };
});

test('given the demo policy, when its tests run, then all pass and every rule is exercised', async () => {
  const loaded = await loadPolicyDir(DEMO_DIR);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  const results = runPolicyTests(loaded.policy, loaded.tests, analyze);
  assert.deepEqual(
    results.filter((r) => !r.pass).map((r) => `${r.name}: ${JSON.stringify(r.actual)}`),
    [],
  );
  assert.ok(results.length >= 30);
  // A mask rule never decides access (the allow rule is named), so it counts when it masked.
  const decided = new Set([
    ...results.map((r) => r.actual.rule),
    ...results.flatMap((r) =>
      r.actual.decision === 'mask' ? r.evaluation.matches.filter((m) => m.action === 'mask').map((m) => m.ruleId) : [],
    ),
  ]);
  const untested = loaded.policy.rules.map((r) => r.id).filter((id) => !decided.has(id));
  assert.deepEqual(untested, [], 'every rule of the demo policy decides (or masks) at least one of its tests');
  assert.equal(loaded.policy.name, 'demo');
});

test('given a wrong expectation, when the tests run, then that case fails with the deciding rule', () => {
  const r = compilePolicy([
    {
      name: 'p.yaml',
      text: `policy: t
rules:
  - { id: read, description: d, match: { sql: { classes: [select] } }, action: allow }
  - { id: nodel, description: d, match: { sql: { classes: [delete] } }, action: deny }
tests:
  - { name: ok, sql: select 1, expect: { decision: allow, rule: read } }
  - { name: wrong, sql: "delete from t", expect: { decision: allow } }
  - { name: wrong rule, sql: "select 1", expect: { decision: allow, rule: nodel } }
`,
    },
  ]);
  assert.ok(r.ok);
  const results = runPolicyTests(r.policy, r.tests, analyze);
  assert.deepEqual(
    results.map((x) => [x.name, x.pass, x.actual.rule]),
    [
      ['ok', true, 'read'],
      ['wrong', false, 'nodel'],
      ['wrong rule', false, 'read'],
    ],
  );
  assert.deepEqual(results[1]?.source, { file: 'p.yaml', line: 7 });
});

test('given expectations on masking, when the tests run, then the sets and their order must match', () => {
  const r = compilePolicy([
    {
      name: 'p.yaml',
      text: `policy: t
masking: { pii: { detectors: [email] }, cards: { detectors: [card] } }
rules:
  - { id: read, description: d, match: { sql: { classes: [select] } }, action: allow }
  - { id: m-pii, description: d, match: { sql: { reads: [public.customers] } }, action: mask, masking: pii }
  - { id: m-cards, description: d, match: { sql: { reads: [public.customers] } }, action: mask, masking: cards }
tests:
  - { name: ok, sql: select * from public.customers, expect: { decision: mask, rule: read, masking: [pii, cards] } }
  - { name: order, sql: select * from public.customers, expect: { decision: mask, masking: [cards, pii] } }
  - { name: none, sql: select 1, expect: { decision: allow, masking: [] } }
  - { name: unasserted, sql: select * from public.customers, expect: { decision: mask } }
`,
    },
  ]);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const results = runPolicyTests(r.policy, r.tests, analyze);
  assert.deepEqual(
    results.map((x) => [x.name, x.pass, x.actual.masking]),
    [
      ['ok', true, ['pii', 'cards']],
      ['order', false, ['pii', 'cards']],
      ['none', true, []],
      ['unasserted', true, ['pii', 'cards']],
    ],
  );
});
