import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@agentgate/pg-wire/testing';
import {
  asciiProfile,
  digitCount,
  HAS_AT,
  HAS_COLON,
  HAS_DASH,
  HAS_DOT,
  HAS_EQUALS,
  HAS_PAREN,
  HAS_PLUS,
  HAS_SLASH,
  HAS_SPACE,
  HAS_TWO_COLONS,
  HAS_UNDERSCORE,
  lowerCount,
  textProfile,
  upperCount,
} from './text-profile.js';

// The profile spelled out character by character, as the detectors' conditions read it.
function reference(text: string): { flags: number; digits: number; upper: number; lower: number } {
  const chars = [...text];
  const has = (ch: string, flag: number): number => (chars.includes(ch) ? flag : 0);
  const colons = chars.filter((c) => c === ':').length;
  const count = (re: RegExp): number => Math.min(63, chars.filter((c) => re.test(c)).length);
  return {
    flags:
      has('@', HAS_AT) |
      (colons > 0 ? HAS_COLON : 0) |
      (colons > 1 ? HAS_TWO_COLONS : 0) |
      has('.', HAS_DOT) |
      has('-', HAS_DASH) |
      has('+', HAS_PLUS) |
      has('=', HAS_EQUALS) |
      has('/', HAS_SLASH) |
      has('_', HAS_UNDERSCORE) |
      has('(', HAS_PAREN) |
      has(' ', HAS_SPACE),
    digits: count(/^[0-9]$/),
    upper: count(/^[A-Z]$/),
    lower: count(/^[a-z]$/),
  };
}

function decoded(profile: number): { flags: number; digits: number; upper: number; lower: number } {
  return { flags: profile & ((1 << 13) - 1), digits: digitCount(profile), upper: upperCount(profile), lower: lowerCount(profile) };
}

test('property: the profile of a text and of its ASCII bytes is the reference profile, counts capped at 63', () => {
  const rnd = mulberry32(20261129);
  const alphabet = 'aZ09@:.-+=/_( )!#xyQ\n\t:::::@@..ü€';
  for (let i = 0; i < 5000; i++) {
    const length = Math.floor(rnd() * (i % 10 === 0 ? 200 : 30));
    const text = Array.from({ length }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    const profile = textProfile(text);
    assert.deepEqual(decoded(profile), reference(text), JSON.stringify(text));
    const bytes = Buffer.from(`[${text}]`, 'utf8');
    const fromBytes = asciiProfile(bytes, 1, bytes.length - 1);
    if (Buffer.byteLength(text) === text.length) assert.equal(fromBytes, profile, JSON.stringify(text));
    else assert.equal(fromBytes, -1, JSON.stringify(text));
  }
  // The caps, and the highest field not overflowing into the sign bit.
  const full = textProfile('a'.repeat(100) + 'B'.repeat(100) + '7'.repeat(100) + '::');
  assert.deepEqual(decoded(full), { flags: HAS_COLON | HAS_TWO_COLONS, digits: 63, upper: 63, lower: 63 });
  assert.ok(full > 0);
});
