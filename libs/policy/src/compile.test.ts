// compilePolicy: every error names the file, the line and what was expected; versions are
// content hashes over the files in a canonical order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, policyContentHash, type PolicyError } from './index.js';

function errorsOf(files: { name: string; text: string }[]): PolicyError[] {
  const r = compilePolicy(files);
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : r.errors;
}

const GOOD = `policy: p
rules:
  - id: read
    description: read public
    match: { sql: { classes: [select], reads: [public.*] } }
    action: allow
tests:
  - name: reads
    identity: { subject: a, groups: [agents] }
    sql: select 1
    expect: { decision: allow, rule: read }
`;

test('given a valid file, then a policy named <name>@<12 hex of the content hash>, and its tests', () => {
  const r = compilePolicy([{ name: 'a.yaml', text: GOOD }]);
  assert.ok(r.ok);
  assert.match(r.policy.version, /^p@[0-9a-f]{12}$/);
  assert.equal(r.policy.version, `p@${r.contentHash.slice(0, 12)}`);
  assert.equal(r.tests.length, 1);
  assert.deepEqual(r.tests[0]?.source, { file: 'a.yaml', line: 8 });
  assert.ok(Object.isFrozen(r.policy.rules[0]));
});

test('given the same files in another order, then the same hash; a changed byte or name changes it', () => {
  const a = { name: 'a.yaml', text: GOOD };
  const b = { name: 'b.yaml', text: 'tests: []\n' };
  assert.equal(policyContentHash([a, b]), policyContentHash([b, a]));
  assert.notEqual(policyContentHash([a, b]), policyContentHash([a, { ...b, text: 'tests: [] \n' }]));
  assert.notEqual(policyContentHash([a, b]), policyContentHash([a, { ...b, name: 'c.yaml' }]));
  // Name and text boundaries cannot be shifted into each other.
  assert.notEqual(policyContentHash([{ name: 'ab', text: 'c' }]), policyContentHash([{ name: 'a', text: 'bc' }]));
});

test('given an unknown key deep in a rule, then its file, its line and the key', () => {
  const text = GOOD.replace(
    'match: { sql: { classes: [select], reads: [public.*] } }',
    'match:\n      sql:\n        classes: [select]\n        raeds: [public.*]',
  );
  const errs = errorsOf([{ name: 'rules.yaml', text }]);
  assert.deepEqual(errs, [{ file: 'rules.yaml', line: 8, message: 'rules.0.match.sql: unknown key "raeds"' }]);
});

test('given a bad enum value, then the allowed values', () => {
  const errs = errorsOf([{ name: 'x.yaml', text: GOOD.replace('action: allow', 'action: permit') }]);
  assert.equal(errs[0]?.line, 6);
  assert.match(errs[0]!.message, /rules\.0\.action: expected one of "allow", "deny", "approve", "mask"/);
});

test('given a missing description, then the rule line and the key', () => {
  const errs = errorsOf([{ name: 'x.yaml', text: GOOD.replace('    description: read public\n', '') }]);
  assert.deepEqual(errs[0], { file: 'x.yaml', line: 3, message: 'rules.0: missing required key "description"' });
});

test('given broken YAML, then the YAML error with its line', () => {
  const errs = errorsOf([{ name: 'x.yaml', text: 'policy: p\nrules:\n  - id: [unclosed\n' }]);
  assert.equal(errs[0]?.file, 'x.yaml');
  assert.ok((errs[0]?.line ?? 0) >= 3);
  assert.match(errs[0]!.message, /^YAML: /);
});

test('given a duplicate rule id across files, then both places', () => {
  const errs = errorsOf([
    { name: 'a.yaml', text: GOOD },
    { name: 'b.yaml', text: 'rules:\n  - { id: read, description: again, action: deny }\n' },
  ]);
  assert.deepEqual(errs, [{ file: 'b.yaml', line: 2, message: 'rule read: id "read" is already used in a.yaml:3' }]);
});

test('given an approve rule without approval, then required approval', () => {
  const errs = errorsOf([{ name: 'x.yaml', text: 'policy: p\nrules:\n  - { id: d, description: d, action: approve }\n' }]);
  assert.match(errs.map((e) => e.message).join('\n'), /missing required key "approval"/);
});

test('given window on an access rule, then it is refused', () => {
  const errs = errorsOf([{ name: 'x.yaml', text: 'policy: p\nrules:\n  - { id: d, description: d, action: deny, window: 1h }\n' }]);
  assert.match(errs.map((e) => e.message).join('\n'), /window: not allowed here/);
});

test('given a budget rule with SQL conditions, then it is refused with its line', () => {
  const text =
    'policy: p\nrules:\n  - id: b\n    description: d\n    kind: budget\n    window: 1h\n    limits: { statements: 5 }\n    match: { sql: { classes: [select] } }\n    action: deny\n';
  assert.deepEqual(errorsOf([{ name: 'x.yaml', text }]), [
    { file: 'x.yaml', line: 8, message: 'rule b: budget rules count requests; they take no sql conditions' },
  ]);
});

test('given an unknown time zone, then the zone line', () => {
  const text = 'policy: p\nrules:\n  - id: t\n    description: d\n    match:\n      time:\n        zone: Mars/Olympus\n    action: deny\n';
  assert.deepEqual(errorsOf([{ name: 'x.yaml', text }]), [
    { file: 'x.yaml', line: 7, message: 'rule t: time.zone "Mars/Olympus" is not an IANA time zone (e.g. UTC, Europe/Berlin)' },
  ]);
});

test('given an undefined principal set, then it is named', () => {
  const text =
    'policy: p\nrules:\n  - id: t\n    description: d\n    match: { identity: { actingFor: ["@contractors"] } }\n    action: deny\n';
  assert.match(errorsOf([{ name: 'x.yaml', text }])[0]!.message, /no principal set "contractors"/);
});

test('given a test expecting an unknown rule, then the test and the rule', () => {
  const errs = errorsOf([{ name: 'x.yaml', text: GOOD.replace('rule: read', 'rule: raed') }]);
  assert.deepEqual(errs, [{ file: 'x.yaml', line: 11, message: 'test "reads": no rule "raed"' }]);
});

test('given two files naming different policies, then the second is refused', () => {
  const errs = errorsOf([
    { name: 'a.yaml', text: GOOD },
    { name: 'b.yaml', text: 'policy: q\n' },
  ]);
  assert.deepEqual(errs, [{ file: 'b.yaml', line: 1, message: 'policy is named "p" in another file' }]);
});

test('given no name anywhere, then the option names it; without either, an error', () => {
  const text = GOOD.replace('policy: p\n', '');
  const r = compilePolicy([{ name: 'a.yaml', text }], { name: 'fromdir' });
  assert.ok(r.ok && r.policy.version.startsWith('fromdir@'));
  assert.match(errorsOf([{ name: 'a.yaml', text }])[0]!.message, /expected `policy: <name>`/);
});

test('given a protocol that contradicts the conditions, then it is refused', () => {
  const text =
    'policy: p\nrules:\n  - id: t\n    description: d\n    match: { protocol: [ssh], sql: { classes: [select] } }\n    action: deny\n';
  assert.match(errorsOf([{ name: 'x.yaml', text }])[0]!.message, /does not include postgres/);
});

test('given a message on an allow rule, then it is refused', () => {
  const text = 'policy: p\nrules:\n  - { id: t, description: d, message: hi, action: allow }\n';
  assert.match(errorsOf([{ name: 'x.yaml', text }])[0]!.message, /message is for deny rules/);
});

test('given no files, then an error', () => {
  assert.equal(errorsOf([])[0]?.message, 'a policy needs at least one file');
});

const MASKED = `policy: p
masking:
  pii:
    columns:
      - { schema: public, table: customers, column: card_number, strategy: partial, keep: 4 }
      - { column: email, strategy: tokenize }
      - { type: [bytea, 17], strategy: "null" }
    detectors: { card: redact, email: tokenize, iban: { strategy: partial, keep: 6 }, jwt: null }
  secrets:
    detectors: [aws-access-key-id, jwt]
    defaultDetectorStrategy: null
rules:
  - id: read
    description: read public
    match: { sql: { classes: [select], reads: [public.*] } }
    action: allow
  - id: mask-pii
    description: customers are masked
    match: { sql: { reads: [public.customers] } }
    action: mask
    masking: pii
`;

test('given masking rule sets, then each compiles to a masking plan: columns in order, detectors with their strategies', () => {
  const r = compilePolicy([{ name: 'a.yaml', text: MASKED }]);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.policy.masking['pii'], {
    version: 1,
    rules: [
      { schema: 'public', table: 'customers', column: 'card_number', strategy: { kind: 'partial', keep: 4 } },
      { column: 'email', strategy: { kind: 'tokenize' } },
      { type: ['bytea', 17], strategy: { kind: 'null' } },
    ],
    detectors: ['card', 'email', 'iban', 'jwt'],
    detectorStrategies: {
      card: { kind: 'redact' },
      email: { kind: 'tokenize' },
      iban: { kind: 'partial', keep: 6 },
      jwt: { kind: 'null' },
    },
    defaultDetectorStrategy: { kind: 'redact' },
  });
  assert.deepEqual(r.policy.masking['secrets'], {
    version: 1,
    rules: [],
    detectors: ['aws-access-key-id', 'jwt'],
    defaultDetectorStrategy: { kind: 'null' },
  });
});

test('given a mask rule naming a set nobody defined, then an error at the rule’s masking line', () => {
  const errs = errorsOf([{ name: 'a.yaml', text: MASKED.replace('masking: pii\n', 'masking: pci\n') }]);
  assert.deepEqual(errs, [{ file: 'a.yaml', line: 21, message: 'rule mask-pii: no masking rule set "pci" (define it under masking:)' }]);
});

test('given an unknown detector, in either form, then an error naming the detectors allowed', () => {
  const inMap = errorsOf([{ name: 'a.yaml', text: MASKED.replace('jwt: null }', 'visa: redact }') }]);
  assert.equal(inMap[0]?.line, 8);
  assert.match(inMap[0]!.message, /masking\.pii\.detectors/);
  const inList = errorsOf([{ name: 'a.yaml', text: MASKED.replace('[aws-access-key-id, jwt]', '[aws-access-key-id, aws-key]') }]);
  assert.equal(inList[0]?.line, 10);
  assert.match(inList[0]!.message, /masking\.secrets\.detectors.*"pem-private-key"/);
});

test('given a bad strategy, keep on a strategy other than partial, or an empty column rule, then errors with their lines', () => {
  assert.match(
    errorsOf([{ name: 'a.yaml', text: MASKED.replace('strategy: tokenize }', 'strategy: hash }') }])[0]!.message,
    /masking\.pii\.columns\.1\.strategy: expected one of/,
  );
  assert.deepEqual(
    errorsOf([{ name: 'a.yaml', text: MASKED.replace('column: email, strategy: tokenize', 'column: email, strategy: redact, keep: 2') }]),
    [{ file: 'a.yaml', line: 6, message: 'masking.pii.columns.1.keep: keep is for the partial strategy, not redact' }],
  );
  assert.deepEqual(
    errorsOf([{ name: 'a.yaml', text: MASKED.replace('{ column: email, strategy: tokenize }', '{ strategy: tokenize }') }]),
    [{ file: 'a.yaml', line: 6, message: 'masking.pii.columns.1: a column rule names at least one of schema, table, column, type' }],
  );
});

test('given one set defined in two files, then an error naming the first', () => {
  const errs = errorsOf([
    { name: 'a.yaml', text: MASKED },
    { name: 'b.yaml', text: 'masking:\n  pii: { detectors: [card] }\n' },
  ]);
  assert.deepEqual(errs, [{ file: 'b.yaml', line: 2, message: 'masking rule set "pii" is already defined in a.yaml:4' }]);
});
