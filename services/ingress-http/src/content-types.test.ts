import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTextLike, recordableRequestBody, responseTreatment } from './content-types.js';

test('text-like types are masked; binary ones pass; no content type counts as text', () => {
  for (const t of [
    'application/json',
    'application/json; charset=utf-8',
    'Application/Problem+JSON',
    'text/html',
    'text/event-stream',
    'application/xml',
    'application/atom+xml',
    'application/javascript',
    'application/x-www-form-urlencoded',
    'application/x-ndjson',
    undefined,
  ])
    assert.equal(isTextLike(t), true, String(t));
  for (const t of ['image/png', 'application/octet-stream', 'application/zip', 'application/pdf', 'multipart/form-data; boundary=x'])
    assert.equal(isTextLike(t), false, t);
});

test('masking applies to text when the verdict masks; SSE is marked', () => {
  assert.deepEqual(responseTreatment('application/json', undefined, true), {
    kind: 'relay',
    mask: true,
    text: true,
    sse: false,
    decode: null,
  });
  assert.deepEqual(responseTreatment('application/json', undefined, false), {
    kind: 'relay',
    mask: false,
    text: true,
    sse: false,
    decode: null,
  });
  assert.deepEqual(responseTreatment('image/png', undefined, true), { kind: 'relay', mask: false, text: false, sse: false, decode: null });
  assert.deepEqual(responseTreatment('text/event-stream', 'identity', true), {
    kind: 'relay',
    mask: true,
    text: true,
    sse: true,
    decode: null,
  });
});

test('a compressed body is decoded to be masked; an unknown coding of a masked body is refused', () => {
  assert.deepEqual(responseTreatment('text/plain', 'gzip', true), { kind: 'relay', mask: true, text: true, sse: false, decode: 'gzip' });
  assert.deepEqual(responseTreatment('text/plain', 'br', true), { kind: 'relay', mask: true, text: true, sse: false, decode: 'br' });
  assert.equal(responseTreatment('text/plain', 'zstd', true).kind, 'refuse');
  assert.equal(responseTreatment('text/plain', 'gzip, br', true).kind, 'refuse');
  // Not masked: passes as it came, and is not sampled (the bytes are not text).
  assert.deepEqual(responseTreatment('text/plain', 'zstd', false), { kind: 'relay', mask: false, text: false, sse: false, decode: null });
});

test('a request body is recorded as text only when text-like and not encoded', () => {
  assert.equal(recordableRequestBody('application/json', undefined), true);
  assert.equal(recordableRequestBody('application/json', 'gzip'), false);
  assert.equal(recordableRequestBody('image/png', undefined), false);
});
