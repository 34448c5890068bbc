import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DETECTORS,
  createTokenizer,
  isCardNumber,
  isIban,
  luhnValid,
  partialMask,
  partialMaskAsciiBytes,
  partialMaskAsciiInPlace,
  redactionMarker,
  scan,
  tokenFormatOf,
  tokenizeUnderEveryKey,
} from './index.js';

const key = { id: 'k1', secret: new Uint8Array(32).fill(7) };
const otherKey = { id: 'k2', secret: new Uint8Array(32).fill(8) };
const tok = createTokenizer(key);
const tok2 = createTokenizer(otherKey);

test('redaction marker format', () => {
  assert.equal(redactionMarker('card'), '[REDACTED:card]');
});

test('partial keeps the last N letters and digits and every separator', () => {
  assert.equal(partialMask('4111 1111 1111 1111'), '**** **** **** 1111');
  assert.equal(partialMask('4111-1111-1111-1111', 6), '****-****-**11-1111');
  assert.equal(partialMask('jane.roe@example.com'), '****.***@******e.com');
  assert.equal(partialMask('078-05-1120', 4), '***-**-1120');
  assert.equal(partialMask('ab12', 4), '**12', 'at most half is shown');
  assert.equal(partialMask('x'), '*');
  assert.equal(partialMask('secret', 0), '******');
  assert.equal(partialMask(''), '');
});

test('partial on ASCII bytes is partial on the text, in a copy; bytes that are not ASCII are left to the text path', () => {
  const values = [
    '4111 1111 1111 1111',
    'DE89370400440532013000',
    'jane.roe@example.com',
    '078-05-1120',
    'ab12',
    'x',
    '',
    '--',
    'A1-b2-C3',
  ];
  for (const v of values) {
    for (const keep of [0, 2, 4, 6, 40]) {
      const input = Buffer.from(v);
      const out = partialMaskAsciiBytes(input, keep);
      assert.equal(out?.toString(), partialMask(v, keep), `${v} keep ${keep}`);
      assert.notEqual(out, input);
    }
  }
  assert.equal(Buffer.from('4111 1111').toString(), '4111 1111', 'the input is untouched');
  assert.equal(partialMaskAsciiBytes(Buffer.from('Zoë 4111111111111111')), undefined);
});

test('partialMaskAsciiInPlace masks its range only, as partialMask does, and leaves non-ASCII untouched', () => {
  for (const v of ['4111 1111 1111 1111', 'DE89370400440532013000', 'ab12', 'x', '']) {
    const buf = Buffer.from(`<<${v}>>`);
    assert.equal(partialMaskAsciiInPlace(buf, 2, buf.length - 2, 4), true);
    assert.equal(buf.toString(), `<<${partialMask(v, 4)}>>`, v);
  }
  const zoe = Buffer.from('<<Zoë 4111111111111111>>');
  assert.equal(partialMaskAsciiInPlace(zoe, 2, zoe.length - 2), false);
  assert.equal(zoe.toString(), '<<Zoë 4111111111111111>>');
});

test('tokens are deterministic per key and differ between keys', () => {
  for (const v of ['4111111111111111', 'jane.roe@example.com', 'AKIAIOSFODNN7EXAMPLE', '078-05-1120', 'DE89370400440532013000', '12345']) {
    assert.equal(tok.tokenize(v), tok.tokenize(v), v);
    assert.equal(
      tok.tokenize(v),
      createTokenizer({ id: 'same', secret: new Uint8Array(32).fill(7) }).tokenize(v),
      'the key id is not mixed in',
    );
    assert.notEqual(tok.tokenize(v), tok2.tokenize(v), v);
    assert.notEqual(tok.tokenize(v), v);
  }
  assert.notEqual(tok.tokenize('4111111111111111'), tok.tokenize('4012888888881881'));
});

test('a card token: same length and separators, digits only, Luhn valid, prefix 99, no brand', () => {
  for (const card of ['4111111111111111', '4111 1111 1111 1111', '378282246310005', '6011-1111-1111-1117', '4222222222222']) {
    assert.equal(tokenFormatOf(card), 'card');
    const t = tok.tokenize(card);
    assert.equal(t.length, card.length);
    assert.equal(t.replace(/[0-9]/g, '#'), card.replace(/[0-9]/g, '#'));
    const digits = t.replace(/[^0-9]/g, '');
    assert.ok(luhnValid(digits), t);
    assert.ok(digits.startsWith('99'));
    assert.ok(!isCardNumber(digits), 'a token is never a branded card');
    assert.equal(scan(t, [DETECTORS.card]).length, 0);
  }
  assert.equal(
    tok.tokenize('4111 1111 1111 1111').replace(/ /g, ''),
    tok.tokenize('4111111111111111'),
    'separators do not change the token digits',
  );
});

test('an IBAN token: same country, length and spacing, valid mod-97', () => {
  for (const iban of [
    'DE89370400440532013000',
    'DE89 3704 0044 0532 0130 00',
    'GB82WEST12345698765432',
    'MT84MALT011000012345MTLCAST001S',
  ]) {
    const t = tok.tokenize(iban);
    assert.equal(t.length, iban.length);
    assert.equal(t.slice(0, 2), iban.slice(0, 2));
    assert.equal(t.replace(/[0-9]/g, '9').replace(/[A-Z]/g, 'A'), iban.replace(/[0-9]/g, '9').replace(/[A-Z]/g, 'A'));
    assert.ok(isIban(t.replace(/ /g, '')), t);
  }
});

test('an email token is a valid address under .invalid; equal domains give equal token domains', () => {
  const a = tok.tokenize('jane.roe@example.com');
  const b = tok.tokenize('john.doe@Example.com');
  assert.match(a, /^tok_[0-9a-f]{16}@d[0-9a-f]{12}\.invalid$/);
  // Like card and SSN tokens, not taken for the real thing: .invalid holds no mailbox.
  assert.equal(scan(a, [DETECTORS.email]).length, 0, 'a token is not personal data');
  assert.equal(scan(a.replace('.invalid', '.com'), [DETECTORS.email]).length, 1, 'the same shape under a real domain is an address');
  assert.equal(a.split('@')[1], b.split('@')[1]);
  assert.notEqual(a.split('@')[0], b.split('@')[0]);
});

test('an SSN token keeps the shape and uses area 9xx, group 01-49, so it is never a real number', () => {
  for (const ssn of ['078-05-1120', '219 09 9999']) {
    const t = tok.tokenize(ssn);
    assert.equal(tokenFormatOf(ssn), 'us-ssn');
    assert.match(t, ssn.includes('-') ? /^9[0-9]{2}-[0-4][0-9]-[0-9]{4}$/ : /^9[0-9]{2} [0-4][0-9] [0-9]{4}$/);
    assert.notEqual(t.slice(4, 6), '00');
    assert.notEqual(t.slice(7), '0000');
    assert.equal(scan(t, [DETECTORS['us-ssn']]).length, 0);
  }
});

test('digit-shaped values keep their length and non-digits; a leading non-zero digit stays non-zero', () => {
  for (const v of ['12345', '007', '+1 415-555-2671', '(415) 555-2671', '9']) {
    const t = tok.tokenize(v);
    assert.equal(tokenFormatOf(v), 'digits');
    assert.equal(t.replace(/[0-9]/g, '#'), v.replace(/[0-9]/g, '#'));
    if (v.replace(/[^0-9]/g, '')[0] !== '0') assert.notEqual(t.replace(/[^0-9]/g, '')[0], '0');
  }
});

test('anything else becomes tok_ and 24 hex digits', () => {
  assert.match(tok.tokenize('AKIAIOSFODNN7EXAMPLE'), /^tok_[0-9a-f]{24}$/);
  assert.match(tok.tokenize('Jane Roe'), /^tok_[0-9a-f]{24}$/);
  assert.match(tok.tokenize('4111111111111111', 'opaque'), /^tok_[0-9a-f]{24}$/);
});

test('short keys are refused; every key of a ring yields its own token, current first', () => {
  assert.throws(() => createTokenizer({ id: 'weak', secret: new Uint8Array(8) }), RangeError);
  const tokens = tokenizeUnderEveryKey('jane.roe@example.com', { current: otherKey, previous: [key] });
  assert.deepEqual(
    tokens.map((t) => t.keyId),
    ['k2', 'k1'],
  );
  assert.equal(tokens[1]!.token, tok.tokenize('jane.roe@example.com'));
});
