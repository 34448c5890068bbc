// Masking sets merged for one request: given the sets' plans, when merged, then one plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MaskingPlan } from '@agentgate/masking';
import { compileMaskingSet, mergeMaskingPlans } from './masking-sets.js';

const base = { version: 1, detectors: [], defaultDetectorStrategy: { kind: 'redact' } } as const;
const masksSsn: MaskingPlan = { ...base, rules: [{ column: 'ssn', strategy: { kind: 'redact' } }], copyOut: 'detectors' };
const masksName: MaskingPlan = { ...base, rules: [{ column: 'name', strategy: { kind: 'redact' } }] };
const detectorsOnly: MaskingPlan = { ...base, rules: [], detectors: ['card'] };

test('given sets that all let COPY TO pass, when merged, then the plan lets it pass', () => {
  assert.equal(mergeMaskingPlans([masksSsn, detectorsOnly]).copyOut, 'detectors');
});

test('given one set whose column rules mask without copyOut, when merged, then COPY TO is refused (no copyOut)', () => {
  assert.equal(mergeMaskingPlans([masksSsn, masksName]).copyOut, undefined);
  assert.equal(mergeMaskingPlans([masksName, masksSsn]).copyOut, undefined);
});

test('given copyOut in a policy set, when compiled, then the plan carries it', () => {
  const errors: string[] = [];
  const plan = compileMaskingSet({ columns: [{ column: 'ssn', strategy: 'redact' }], detectors: ['us-ssn'], copyOut: 'detectors' }, (m) =>
    errors.push(m),
  );
  assert.deepEqual(errors, []);
  assert.equal(plan?.copyOut, 'detectors');
});
