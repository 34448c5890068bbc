// The plan <-> verdict rules encoding: round trips, the exact wire form, and what is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  copyOutAllowed,
  DETECTOR_NAMES,
  fromVerdictRules,
  type MaskingPlan,
  toVerdictRules,
  validateMaskingPlan,
  type VerdictMaskingRule,
} from './index.js';

const plan: MaskingPlan = {
  version: 1,
  rules: [
    { schema: 'public', table: 'customers', column: 'card_number', strategy: { kind: 'partial', keep: 4 } },
    { schema: 'public', table: 'customers', column: 'ssn', strategy: { kind: 'redact' } },
    { column: 'email', strategy: { kind: 'tokenize' } },
    { schema: 'public', table: '*', column: 'id', strategy: { kind: 'keep' } },
    { schema: 'we.ird;sch,ema%', table: 'T:1', column: 'c?', strategy: { kind: 'partial' } },
    { type: ['bytea', 17], strategy: { kind: 'null' } },
    { schema: 'public', type: '23', strategy: { kind: 'detect' } },
  ],
  detectors: ['card', 'email', 'jwt'],
  detectorStrategies: { email: { kind: 'tokenize' } },
  defaultDetectorStrategy: { kind: 'redact' },
};

test('a plan encodes to the documented wire form', () => {
  assert.deepEqual(toVerdictRules(plan), [
    { target: 'column:public.customers.card_number', strategy: 'partial:4', detector: null },
    { target: 'column:public.customers.ssn', strategy: 'redact', detector: null },
    { target: 'column:..email', strategy: 'tokenize', detector: null },
    { target: 'column:public.*.id', strategy: 'keep', detector: null },
    { target: 'column:we%2Eird%3Bsch%2Cema%25.T%3A1.c?', strategy: 'partial', detector: null },
    { target: 'type:bytea,17', strategy: 'null', detector: null },
    { target: 'column:public..;type=%323', strategy: 'detect', detector: null },
    { target: 'detectors:default', strategy: 'redact', detector: null },
    { target: 'detector:card', strategy: 'redact', detector: 'card' },
    { target: 'detector:email', strategy: 'tokenize', detector: 'email' },
    { target: 'detector:jwt', strategy: 'redact', detector: 'jwt' },
  ]);
});

test('a plan round-trips through verdict rules unchanged', () => {
  const back = fromVerdictRules(toVerdictRules(plan));
  assert.ok(back.ok, JSON.stringify(back));
  assert.deepEqual(back.plan, plan);
});

test('every detector and strategy round-trips; per-detector strategies equal to the default fold into it', () => {
  const every: MaskingPlan = {
    version: 1,
    rules: [],
    detectors: [...DETECTOR_NAMES],
    detectorStrategies: {
      card: { kind: 'partial', keep: 6 },
      iban: { kind: 'null' },
      email: { kind: 'tokenize' },
      jwt: { kind: 'partial' },
    },
    defaultDetectorStrategy: { kind: 'redact' },
  };
  const back = fromVerdictRules(toVerdictRules(every));
  assert.ok(back.ok, JSON.stringify(back));
  assert.deepEqual(back.plan, every);
  const explicitDefault = { ...every, detectorStrategies: { ...every.detectorStrategies, phone: { kind: 'redact' as const } } };
  const folded = fromVerdictRules(toVerdictRules(explicitDefault));
  assert.ok(folded.ok);
  assert.deepEqual(folded.plan, every);
  assert.deepEqual(toVerdictRules(folded.plan), toVerdictRules(explicitDefault));
});

test('a plan with no rules and no detectors is still one entry, so [] can only mean "no masking"', () => {
  const empty: MaskingPlan = { version: 1, rules: [], detectors: [], defaultDetectorStrategy: { kind: 'null' } };
  assert.deepEqual(toVerdictRules(empty), [{ target: 'detectors:default', strategy: 'null', detector: null }]);
  assert.deepEqual(fromVerdictRules(toVerdictRules(empty)), { ok: true, plan: empty });
  assert.equal(fromVerdictRules([]).ok, false);
});

test('a column rule with a connection glob cannot go on the wire', () => {
  assert.throws(() => toVerdictRules({ ...plan, rules: [{ connection: 'demo', column: 'x', strategy: { kind: 'redact' } }] }), RangeError);
});

const base: VerdictMaskingRule[] = [{ target: 'detectors:default', strategy: 'redact', detector: null }];
const refused: [string, VerdictMaskingRule[], RegExp][] = [
  ['an unknown detector', [...base, { target: 'detector:visa', strategy: 'redact', detector: 'visa' }], /unknown detector "visa"/],
  ['a detector field that disagrees', [...base, { target: 'detector:card', strategy: 'redact', detector: 'iban' }], /does not match/],
  ['a detector named twice', [...base, ...[0, 1].map(() => ({ target: 'detector:card', strategy: 'redact', detector: 'card' }))], /twice/],
  ['a bad strategy', [...base, { target: 'column:..x', strategy: 'hash', detector: null }], /strategy "hash"/],
  ['keep for a detector', [...base, { target: 'detector:card', strategy: 'keep', detector: 'card' }], /strategy "keep"/],
  ['partial with junk', [...base, { target: 'column:..x', strategy: 'partial:4x', detector: null }], /strategy/],
  ['partial keeping too much', [...base, { target: 'column:..x', strategy: 'partial:99', detector: null }], /keep/],
  ['an unknown target', [...base, { target: '*', strategy: 'ruleset:pii', detector: null }], /unknown target/],
  ['two name parts', [...base, { target: 'column:customers.ssn', strategy: 'redact', detector: null }], /three name parts/],
  ['bad percent-encoding', [...base, { target: 'column:%zz..x', strategy: 'redact', detector: null }], /percent/],
  ['a second default', [...base, ...base], /twice/],
  ['no default', [{ target: 'column:..x', strategy: 'redact', detector: null }], /detectors:default/],
  ['garbage', [null as unknown as VerdictMaskingRule], /must be strings/],
];
for (const [what, rules, reason] of refused) {
  test(`fromVerdictRules refuses ${what}`, () => {
    const r = fromVerdictRules(rules);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, reason);
  });
}

test('copyOut travels as copy:out, once, and only as "detectors"; COPY TO passes only where it or no masking column rule allows', () => {
  const plan: MaskingPlan = {
    version: 1,
    rules: [{ column: 'ssn', strategy: { kind: 'redact' } }],
    detectors: ['us-ssn'],
    defaultDetectorStrategy: { kind: 'redact' },
    copyOut: 'detectors',
  };
  const rules = toVerdictRules(plan);
  assert.deepEqual(rules.at(-1), { target: 'copy:out', strategy: 'detectors', detector: null });
  const back = fromVerdictRules(rules);
  assert.ok(back.ok);
  assert.equal(back.plan.copyOut, 'detectors');
  assert.equal(copyOutAllowed(back.plan), true);
  const { copyOut: _omitted, ...strict } = plan;
  assert.equal(copyOutAllowed(strict), false, 'a column rule that masks, without copyOut: COPY TO refused');
  assert.equal(
    copyOutAllowed({ ...strict, rules: [{ column: 'id', strategy: { kind: 'keep' } }] }),
    true,
    'keep and detect rules mask nothing',
  );
  assert.equal(fromVerdictRules([...rules, { target: 'copy:out', strategy: 'detectors', detector: null }]).ok, false);
  assert.equal(fromVerdictRules([...rules.slice(0, -1), { target: 'copy:out', strategy: 'raw', detector: null }]).ok, false);
  assert.equal(validateMaskingPlan({ ...plan, copyOut: 'yes' }).ok, false);
});
