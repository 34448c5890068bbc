import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DETECTOR_NAMES, type MaskingPlan, compileMaskingPlan } from '@agentgate/masking';
import { StreamMasker, TAIL_CHARS } from './stream-masker.js';

const keyRing = { current: { id: 'k1', secret: new Uint8Array(32).fill(3) } };
const plan: MaskingPlan = {
  version: 1,
  rules: [],
  detectors: [...DETECTOR_NAMES],
  detectorStrategies: { card: { kind: 'partial', keep: 4 }, email: { kind: 'tokenize' } },
  defaultDetectorStrategy: { kind: 'redact' },
};
const compiled = compileMaskingPlan(plan, keyRing);

const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu',
  'KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm',
  'o3qGy0t6z09AIJtH+5OeRV1be+N4cDYJKffGzDa88vQENZiRm0GRq6a+HPGQMd2k',
  '-----END RSA PRIVATE KEY-----',
].join('\r\n');

const PLANTED: Record<string, string> = {
  card: '4111111111111111',
  'card (grouped)': '4111 1111 1111 1111',
  iban: 'DE89370400440532013000',
  'iban (grouped)': 'DE89 3704 0044 0532 0130 00',
  ssn: '078-05-1120',
  email: 'jane.roe@example.com',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  pem: PEM,
};

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

function run(chunks: readonly Buffer[], masker = new StreamMasker(compiled)): string {
  const out: Buffer[] = chunks.map((c) => masker.push(c));
  out.push(masker.end());
  return Buffer.concat(out).toString('latin1');
}

test('a planted value split at every offset is masked exactly as the whole text is', () => {
  for (const [name, value] of Object.entries(PLANTED)) {
    const text = `$ cat notes.txt\r\nvalue: ${value} (end)\r\nuser@host:~$ `;
    const expected = compiled.maskText(text).text;
    // the one-shot masking hides the value (the plan masks it), so the comparison means something
    assert.ok(expected !== null && !expected.includes(value), name);
    const start = text.indexOf(value);
    for (let cut = start; cut <= start + value.length; cut++) {
      const got = run([latin1(text.slice(0, cut)), latin1(text.slice(cut))]);
      assert.equal(got, expected, `${name} split at ${cut - start}`);
    }
    // and one byte per chunk, as an echoing terminal sends it
    assert.equal(run([...latin1(text)].map((b) => Buffer.from([b]))), expected, `${name} byte by byte`);
  }
});

test('the us-ssn null strategy becomes the redaction marker in a stream', () => {
  const nulls = compileMaskingPlan({ ...plan, detectorStrategies: { 'us-ssn': { kind: 'null' } } }, keyRing);
  assert.equal(run([latin1('ssn 078-05-'), latin1('1120 ok\n')], new StreamMasker(nulls)), 'ssn [REDACTED:us-ssn] ok\n');
});

test('binary output and UTF-8 text pass byte for byte', () => {
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 16;
  };
  const bytes = Buffer.alloc(200_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  assert.equal(compiled.maskText(bytes.toString('latin1')).text, bytes.toString('latin1'), 'no detector fires on the sample');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + (next() % 5000);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  const masker = new StreamMasker(compiled);
  const out = Buffer.concat([...chunks.map((c) => masker.push(c)), masker.end()]);
  assert.ok(out.equals(bytes));
  const utf8 = Buffer.from('größe: 12 € — 日本語\n', 'utf8');
  const m = new StreamMasker(compiled);
  assert.ok(Buffer.concat([m.push(utf8.subarray(0, 9)), m.push(utf8.subarray(9)), m.end()]).equals(utf8));
});

test('a prompt is held by push and released by flush; long output is released as it comes', () => {
  const m = new StreamMasker(compiled);
  assert.equal(m.push(latin1('user@host:~$ ')).length, 0);
  assert.equal(m.flush().toString('latin1'), 'user@host:~$ ');
  assert.equal(m.heldBytes(), 0);
  const lines = 'total 0\r\n'.repeat(100);
  const released = m.push(latin1(lines)).toString('latin1');
  assert.ok(released.length >= lines.length - TAIL_CHARS, `released ${released.length} of ${lines.length}`);
  assert.equal(released + m.flush().toString('latin1'), lines);
});

test('counts: one per masked value, by detector', () => {
  const m = new StreamMasker(compiled);
  m.push(latin1('4111111111111111 and 5500 0000 0000 0004\n'));
  m.push(latin1('mail jane.roe@exa'));
  m.push(latin1('mple.com\n'));
  m.end();
  assert.deepEqual(m.counts(), { 'detector:card': 2, 'detector:email': 1 });
});

test('an open PEM block is held over flush until its END line', () => {
  const m = new StreamMasker(compiled);
  const [head, tail] = [PEM.slice(0, 120), PEM.slice(120)];
  const first = m.push(latin1(`key:\r\n${head}`)).toString('latin1') + m.flush().toString('latin1');
  assert.equal(first, 'key:\r\n');
  const rest = m.push(latin1(`${tail}\r\n$ `)).toString('latin1') + m.end().toString('latin1');
  assert.equal(rest, '[REDACTED:pem-private-key]\r\n$ ');
});

test('a PEM block longer than maxHoldBytes is redacted and dropped up to its END line', () => {
  const m = new StreamMasker(compiled, { maxHoldBytes: 1024 });
  const body = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTExMTExMTExMTExMTEx\r\n'.repeat(40);
  let out = m.push(latin1('-----BEGIN OPENSSH PRIVATE KEY-----\r\n')).toString('latin1');
  out += m.push(latin1(body)).toString('latin1');
  out += m.flush().toString('latin1');
  assert.equal(out, '[REDACTED:pem-private-key]');
  out += m.push(latin1(`${body}-----END OPENSSH PRI`)).toString('latin1');
  out += m.push(latin1('VATE KEY-----\r\nafter\r\n')).toString('latin1');
  out += m.end().toString('latin1');
  assert.equal(out, '[REDACTED:pem-private-key]\r\nafter\r\n');
  assert.deepEqual(m.counts(), { 'detector:pem-private-key': 1 });
});

test('at end of stream an unterminated PEM block is redacted', () => {
  const m = new StreamMasker(compiled);
  const out = m.push(latin1(PEM.slice(0, 150))).toString('latin1') + m.end().toString('latin1');
  assert.equal(out, '[REDACTED:pem-private-key]');
});

test('a value cut by an idle flush: the part after the flush is redacted', () => {
  const m = new StreamMasker(compiled);
  const out = [m.push(latin1('4111 1111 ')), m.flush(), m.push(latin1('1111 1111\r\n')), m.end()].map((b) => b.toString('latin1'));
  assert.equal(out.join(''), '4111 1111 [REDACTED:card]\r\n');
});

test('a keyword released earlier still masks its value', () => {
  const m = new StreamMasker(compiled);
  const out = [m.push(latin1('export password=')), m.flush(), m.push(latin1('hunter2hunter2 && ls\n')), m.end()];
  assert.equal(Buffer.concat(out).toString('latin1'), 'export password=[REDACTED:connection-string-password] && ls\n');
});

test('a run without blanks longer than maxHoldBytes is released, holding at most maxHoldBytes', () => {
  const m = new StreamMasker(compiled, { maxHoldBytes: 1024 });
  const run = 'abcdefghij'.repeat(400);
  let out = '';
  for (let i = 0; i < run.length; i += 100) {
    out += m.push(latin1(run.slice(i, i + 100))).toString('latin1');
    assert.ok(m.heldBytes() <= 1024 + 100, `held ${m.heldBytes()}`);
  }
  out += m.end().toString('latin1');
  assert.equal(out, run);
});
