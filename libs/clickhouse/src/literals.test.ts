import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteIdentifier, quoteString, quoteStringList, quoteUInt } from './index.js';

test('quoteString escapes quotes, backslashes and control characters', () => {
  assert.equal(quoteString("it's"), "'it\\'s'");
  assert.equal(quoteString('a\\b'), "'a\\\\b'");
  assert.equal(quoteString("x'; DROP TABLE events; --"), "'x\\'; DROP TABLE events; --'");
  assert.equal(quoteString('l1\nl2\t\r\0'), "'l1\\nl2\\t\\r\\0'");
  assert.equal(quoteString('ünï 🚀'), "'ünï 🚀'");
  assert.equal(quoteString("\\'"), "'\\\\\\''");
});

test('quoteIdentifier backquotes and refuses control characters', () => {
  assert.equal(quoteIdentifier('events'), '`events`');
  assert.equal(quoteIdentifier('a`b'), '`a\\`b`');
  assert.throws(() => quoteIdentifier('a\nb'));
  assert.throws(() => quoteIdentifier(''));
});

test('quoteUInt accepts only unsigned integers', () => {
  assert.equal(quoteUInt(42), '42');
  assert.equal(quoteUInt(2n ** 63n), '9223372036854775808');
  assert.throws(() => quoteUInt(-1));
  assert.throws(() => quoteUInt(1.5));
  assert.equal(quoteStringList(['a', "b'"]), "'a', 'b\\''");
});
