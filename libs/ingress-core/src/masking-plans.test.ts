import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { toVerdictRules, type MaskingPlan } from '@agentgate/masking';
import { MaskingPlans } from './masking-plans.js';

const KEY = { current: { id: 'k', secret: new Uint8Array(32).fill(7) } };
const REDACT_SSN: MaskingPlan = {
  version: 1,
  rules: [{ column: 'ssn', strategy: { kind: 'redact' } }],
  detectors: ['email'],
  defaultDetectorStrategy: { kind: 'redact' },
};
const KEEP_SSN: MaskingPlan = { ...REDACT_SSN, rules: [{ column: 'ssn', strategy: { kind: 'keep' } }] };
const SSN = { connection: 'demo', column: 'ssn' };

test('verdicts of the same rules share one compiled plan; other rules, even right after, get their own', () => {
  const plans = new MaskingPlans(KEY);
  const a = plans.forVerdict(toVerdictRules(REDACT_SSN));
  assert.equal(plans.forVerdict(toVerdictRules(REDACT_SSN)), a);
  const b = plans.forVerdict(toVerdictRules(KEEP_SSN));
  assert.notEqual(b, a);
  assert.equal(b?.forColumn(SSN).kind, 'keep');
  assert.equal(plans.forVerdict(toVerdictRules(REDACT_SSN)), a);
  assert.equal(a?.forColumn(SSN).kind, 'column');
});

test('a verdict whose rules object changes after it was answered does not change what the next verdict gets', () => {
  const plans = new MaskingPlans(KEY);
  const rules = toVerdictRules(REDACT_SSN);
  plans.forVerdict(rules);
  // A caller's later edit of its own verdict: the plans must not follow it.
  (rules[0] as { strategy: string }).strategy = 'keep';
  assert.equal(plans.forVerdict(toVerdictRules(KEEP_SSN))?.forColumn(SSN).kind, 'keep');
});

test('no rules, no plan; a plan without a key fails closed', () => {
  assert.equal(new MaskingPlans(KEY).forVerdict([]), undefined);
  assert.throws(
    () => new MaskingPlans(undefined).forVerdict(toVerdictRules(REDACT_SSN)),
    (e: unknown) => e instanceof GatewayError && e.code === 'AG_ERR_MASKING_UNSUPPORTED',
  );
});
