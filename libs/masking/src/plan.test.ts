import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { mulberry32 } from '@agentgate/pg-wire/testing';
import {
  type CellMasker,
  DETECTOR_NAMES,
  DETECTORS,
  type MaskingPlan,
  MaskingTally,
  compileMaskingPlan,
  isCardNumber,
  isIban,
  scan,
  textProfile,
  validateMaskingPlan,
} from './index.js';

const keyRing = { current: { id: 'k1', secret: new Uint8Array(32).fill(3) } };
const all = Object.values(DETECTORS);

const plan: MaskingPlan = {
  version: 1,
  rules: [
    { schema: 'public', table: 'customers', column: 'card', strategy: { kind: 'partial' } },
    { schema: 'public', table: 'customers', column: 'id', strategy: { kind: 'keep' } },
    { column: 'ssn', strategy: { kind: 'null' } },
    { column: 'iban', strategy: { kind: 'tokenize' } },
  ],
  detectors: [...DETECTOR_NAMES],
  detectorStrategies: { card: { kind: 'partial', keep: 4 }, email: { kind: 'tokenize' }, iban: { kind: 'tokenize' } },
  defaultDetectorStrategy: { kind: 'redact' },
};

test('a valid plan survives a JSON round trip and validation', () => {
  const r = validateMaskingPlan(JSON.parse(JSON.stringify(plan)));
  assert.ok(r.ok);
  assert.deepEqual(r.plan, plan);
});

test('malformed plans are refused with the path of the problem', () => {
  const cases: [unknown, string][] = [
    [null, '$'],
    [[], '$'],
    [{ ...plan, version: 2 }, '$.version'],
    [{ ...plan, extra: 1 }, '$.extra'],
    [{ ...plan, rules: {} }, '$.rules'],
    [{ ...plan, rules: [{ column: 'x' }] }, '$.rules[0].strategy'],
    [{ ...plan, rules: [{ column: '', strategy: { kind: 'redact' } }] }, '$.rules[0].column'],
    [{ ...plan, rules: [{ column: 7, strategy: { kind: 'redact' } }] }, '$.rules[0].column'],
    [{ ...plan, rules: [{ colum: 'x', strategy: { kind: 'redact' } }] }, '$.rules[0].colum'],
    [{ ...plan, rules: [{ type: [], strategy: { kind: 'redact' } }] }, '$.rules[0].type'],
    [{ ...plan, rules: [{ type: ['text', -1], strategy: { kind: 'redact' } }] }, '$.rules[0].type[1]'],
    [{ ...plan, rules: [{ column: 'x', strategy: { kind: 'hash' } }] }, '$.rules[0].strategy'],
    [{ ...plan, rules: [{ column: 'x', strategy: { kind: 'partial', keep: -1 } }] }, '$.rules[0].strategy.keep'],
    [{ ...plan, rules: [{ column: 'x', strategy: { kind: 'redact', keep: 2 } }] }, '$.rules[0].strategy.keep'],
    [{ ...plan, rules: Array.from({ length: 501 }, () => ({ strategy: { kind: 'redact' } })) }, '$.rules'],
    [{ ...plan, detectors: ['card', 'credit-card'] }, '$.detectors[1]'],
    [{ ...plan, detectors: ['card', 'card'] }, '$.detectors[1]'],
    [{ ...plan, detectorStrategies: { bogus: { kind: 'redact' } } }, '$.detectorStrategies.bogus'],
    [{ ...plan, detectorStrategies: { card: { kind: 'keep' } } }, '$.detectorStrategies.card'],
    [{ ...plan, defaultDetectorStrategy: undefined }, '$.defaultDetectorStrategy'],
    [{ ...plan, defaultDetectorStrategy: 'redact' }, '$.defaultDetectorStrategy'],
  ];
  for (const [input, path] of cases) {
    const r = validateMaskingPlan(input);
    assert.equal(r.ok, false, JSON.stringify(input)?.slice(0, 80));
    if (!r.ok) assert.equal(r.path, path);
  }
});

const compiled = compileMaskingPlan(plan, keyRing);

test('maskText masks only the matched spans of a sentence with several secrets', () => {
  const r = compiled.maskText(
    'card 4111111111111111 pasted by jane.roe@example.com from 10.0.0.7 with AKIAIOSFODNN7EXAMPLE to DE89 3704 0044 0532 0130 00 via postgres://app:hunter2@db/x',
  );
  assert.ok(r.text !== null);
  assert.match(
    r.text,
    /^card \*{12}1111 pasted by tok_[0-9a-f]{16}@d[0-9a-f]{12}\.invalid from \[REDACTED:ipv4\] with \[REDACTED:aws-access-key-id\] to DE\d\d( [0-9]{4}){4} [0-9]{2} via postgres:\/\/app:\[REDACTED:connection-string-password\]@db\/x$/,
  );
  assert.ok(isIban(r.text.match(/DE\d\d( [0-9]{4}){4} [0-9]{2}/)![0].replace(/ /g, '')));
  assert.deepEqual(r.fired, ['card', 'email', 'ipv4', 'aws-access-key-id', 'iban', 'connection-string-password']);
});

test('maskText returns the same string when nothing matches', () => {
  const s = 'Order 1234 shipped on 2024-01-15 for EUR 12.99';
  const r = compiled.maskText(s);
  assert.equal(r.text, s);
  assert.deepEqual(r.fired, []);
});

test('a detector whose strategy is null turns the whole text into NULL', () => {
  const p = compileMaskingPlan({ ...plan, detectorStrategies: { 'us-ssn': { kind: 'null' } } }, keyRing);
  assert.deepEqual(p.maskText('ssn 078-05-1120 on file'), { text: null, fired: ['us-ssn'] });
});

test('forColumn and maskCell: column rules first, detectors otherwise; NULL stays NULL; the tally counts cells', () => {
  const card = compiled.forColumn({ connection: 'c', schema: 'public', table: 'customers', column: 'card', typeName: 'text' });
  const id = compiled.forColumn({ connection: 'c', schema: 'public', table: 'customers', column: 'id' });
  const ssn = compiled.forColumn({ connection: 'c', schema: 'hr', table: 'people', column: 'ssn' });
  const iban = compiled.forColumn({ connection: 'c', column: 'iban' });
  const notes = compiled.forColumn({ connection: 'c', schema: 'public', table: 'customers', column: 'notes' });
  assert.deepEqual(card, { kind: 'column', label: 'public.customers.card', strategy: { kind: 'partial' } });
  assert.equal(id.kind, 'keep');
  assert.equal(notes.kind, 'detect');

  const tally = new MaskingTally();
  const cells: [CellMasker, string | null][] = [
    [card, '4111 1111 1111 1111'],
    [card, null],
    [id, '4111111111111111'],
    [ssn, '078-05-1120'],
    [iban, 'DE89370400440532013000'],
    [notes, 'mail jane.roe@example.com or jane@example.org'],
    [notes, 'nothing here'],
  ];
  const out = cells.map(([m, v]) => {
    const r = compiled.maskCell(m, v);
    tally.record(m, r);
    return r.value;
  });
  assert.equal(out[0], '**** **** **** 1111');
  assert.equal(out[1], null);
  assert.equal(out[2], '4111111111111111', 'keep passes the value through');
  assert.equal(out[3], null);
  assert.ok(isIban(out[4]!) && out[4] !== 'DE89370400440532013000');
  assert.match(out[5]!, /^mail tok_\w+@d\w+\.invalid or tok_\w+@d\w+\.invalid$/);
  assert.equal(out[6], 'nothing here');
  assert.deepEqual(tally.toJSON(), {
    'column:hr.people.ssn': 1,
    'column:iban': 1,
    'column:public.customers.card': 1,
    'detector:email': 1,
  });
});

const SECRETS = [
  '4111111111111111',
  '5500 0000 0000 0004',
  'DE89370400440532013000',
  '078-05-1120',
  'jane.roe@example.com',
  '(415) 555-2671',
  '+44 20 7946 0958',
  '192.168.10.20',
  '2001:db8::8a2e:370:7334',
  'AKIAIOSFODNN7EXAMPLE',
  'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
  'xoxb-123456789012-AbCdEfGhIjKl',
  'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
  'postgres://app:Hunter2Secret@db/x',
  'api_key=Zx8f7Kq2LmN4pQ9rT1vW',
];
const BENIGN = [
  'Jane',
  'Roe',
  'order',
  '#1234',
  '2024-01-15',
  '12:30:45',
  '1.2.3',
  'v2.0.1',
  'EUR',
  '12.99',
  'ok',
  'null',
  'a@b',
  '--',
  '://',
  'x=1',
  'ünï',
  '🚀',
  'id:42',
];
const NOISE = 'abcXYZ0123456789 .:-_@/+=()%\'"';

test('the tally adds up cells of two result columns drawn from the same table column under one key', () => {
  const first = compiled.forColumn({ connection: 'c', schema: 'public', table: 'customers', column: 'card', typeName: 'text' });
  const second = compiled.forColumn({ connection: 'c', schema: 'public', table: 'customers', column: 'card', typeName: 'text' });
  const notes = compiled.forColumn({ connection: 'c', schema: 'public', table: 'customers', column: 'notes' });
  const tally = new MaskingTally();
  for (const m of [first, second, first]) tally.record(m, compiled.maskCell(m, '4111 1111 1111 1111'));
  for (const v of ['jane.roe@example.com', 'a@example.org and b@example.org', 'plain']) tally.record(notes, compiled.maskCell(notes, v));
  assert.deepEqual(tally.toJSON(), { 'column:public.customers.card': 3, 'detector:email': 2 });
});

test('property: maskText never throws, never leaks a matched value, and leaves match-free text identical', () => {
  const rnd = mulberry32(20240115);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const tokenizing = compileMaskingPlan({ ...plan, detectorStrategies: {}, defaultDetectorStrategy: { kind: 'tokenize' } }, keyRing);
  let withMatches = 0;
  for (let i = 0; i < 2000; i++) {
    const parts: string[] = [];
    const n = 1 + Math.floor(rnd() * 6);
    for (let k = 0; k < n; k++) {
      const r = rnd();
      if (r < 0.15) parts.push(pick(SECRETS));
      else if (r < 0.6) parts.push(pick(BENIGN));
      else parts.push(Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => pick([...NOISE])).join(''));
    }
    const text = parts.join(pick([' ', ', ', '; ', '\n', ' | ']));
    const matches = scan(text, all);
    for (const p of [compiled, tokenizing]) {
      const r = p.maskText(text);
      if (matches.length === 0) {
        assert.equal(r.text, text);
        continue;
      }
      assert.ok(r.text !== null);
      for (const m of matches) {
        const raw = text.slice(m.start, m.end);
        if (raw.length >= 6) assert.ok(!r.text.includes(raw), `${m.detector} ${JSON.stringify(raw)} leaked from ${JSON.stringify(text)}`);
      }
    }
    if (matches.length > 0) withMatches++;
  }
  assert.ok(withMatches > 300, `only ${withMatches} generated strings had a match`);
});

test('property: detectionProfile is undefined only for text maskText leaves unchanged, -1 for bytes that are not ASCII, else the text profile', () => {
  const rnd = mulberry32(20261129);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let skipped = 0;
  let profiled = 0;
  for (let i = 0; i < 3000; i++) {
    const parts: string[] = [];
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) {
      const r = rnd();
      if (r < 0.2) parts.push(pick(SECRETS));
      else if (r < 0.6) parts.push(pick(BENIGN));
      else parts.push(Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => pick([...NOISE])).join(''));
    }
    const text = parts.join(pick([' ', ', ', '\n']));
    // Inside a larger buffer, as a cell sits in its row.
    const bytes = Buffer.concat([Buffer.from('xx'), Buffer.from(text, 'utf8'), Buffer.from('yy')]);
    const profile = compiled.detectionProfile(bytes, 2, bytes.length - 2);
    if (profile === undefined) {
      skipped++;
      assert.equal(compiled.maskText(text).text, text, `detectionProfile skipped ${JSON.stringify(text)}, which maskText changes`);
    } else if (Buffer.byteLength(text) !== text.length) {
      assert.equal(profile, -1, 'non-ASCII bytes are left to maskText');
    } else {
      profiled++;
      assert.equal(profile, textProfile(text));
      assert.deepEqual(compiled.maskText(text, profile), compiled.maskText(text));
    }
  }
  assert.ok(skipped > 500, `only ${skipped} generated strings were skipped`);
  assert.ok(profiled > 500, `only ${profiled} generated strings were profiled`);
  for (const t of ['Grace Lovelace', '42', 'Jane Roe, order 1234'])
    assert.equal(compiled.detectionProfile(Buffer.from(t), 0, t.length), undefined, t);
  assert.equal(compiled.detectionProfile(Buffer.from([0xff, 0xfe]), 0, 2), -1, 'bytes that are not UTF-8 are decoded and judged there');
});

test('card and IBAN tokens in free text keep their checks', () => {
  const tokenizing = compileMaskingPlan({ ...plan, detectorStrategies: {}, defaultDetectorStrategy: { kind: 'tokenize' } }, keyRing);
  const r = tokenizing.maskText('4111111111111111 / DE89370400440532013000');
  const [card, , iban] = r.text!.split(' ');
  assert.ok(/^99\d{14}$/.test(card!) && !isCardNumber(card!));
  assert.ok(isIban(iban!));
});
