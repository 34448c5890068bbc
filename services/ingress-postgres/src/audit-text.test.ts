import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { auditedParameters, auditedText } from './audit-text.js';

test('a statement within the cap is recorded whole', () => {
  assert.deepEqual(auditedText('select 1', 1024), { text: 'select 1', fullTextBytes: null, fullTextSha256: null });
  const exact = 'é'.repeat(512); // 1024 bytes
  assert.equal(auditedText(exact, 1024).text, exact);
});

test('a longer statement keeps its prefix, cut at a character boundary, with full length and SHA-256', () => {
  const sql = `select '${'é'.repeat(2000)}'`;
  const recorded = auditedText(sql, 1025);
  const bytes = Buffer.from(sql, 'utf8');
  assert.equal(recorded.fullTextBytes, bytes.length);
  assert.equal(recorded.fullTextSha256, createHash('sha256').update(bytes).digest('hex'));
  assert.ok(Buffer.byteLength(recorded.text) <= 1025);
  assert.ok(sql.startsWith(recorded.text), 'a prefix of the statement, no replacement character');
  assert.ok(!recorded.text.includes('\ufffd'));
});

test('parameters are capped each and in total, and a huge value is not rendered whole', () => {
  const big = Buffer.alloc(70 * 1024 * 1024, 0x61);
  const [text, binary, none, late] = auditedParameters([big, Buffer.from([1, 2, 3]), null, Buffer.from('x')], [0, 1, 0, 0], 16, 25);
  assert.equal(text, `${'a'.repeat(16)}…`);
  assert.equal(binary, '\\x010203');
  assert.equal(none, null);
  assert.equal(late, '…', 'past the total budget only the ellipsis is kept');
  assert.deepEqual(auditedParameters([Buffer.from('short')], [], 16, 1024), ['short']);
});
