// maskJsonStrings with a real compiled plan (every detector, redact): what an MCP result looks
// like on its way to the agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MaskingPlans } from '@agentgate/ingress-core';
import { DETECTOR_NAMES, toVerdictRules } from '@agentgate/masking';
import { maskJsonStrings } from './json-masking.js';

const CARD = '4111111111111111';
const plan = new MaskingPlans({ current: { id: 'k', secret: new Uint8Array(32).fill(7) } }).forVerdict(
  toVerdictRules({ version: 1, rules: [], detectors: [...DETECTOR_NAMES], defaultDetectorStrategy: { kind: 'redact' } }),
)!;

test('every string of the result is masked, wherever it is; other values and the shape stay', () => {
  const result = {
    content: [{ type: 'text', text: `pays with ${CARD}` }],
    structuredContent: { customer: { cards: [CARD, 'none'], count: 2, active: true, note: null } },
    isError: false,
  };
  const r = maskJsonStrings(result, plan);
  assert.equal(JSON.stringify(r.value).includes(CARD), false);
  assert.deepEqual(r.value, {
    content: [{ type: 'text', text: 'pays with [REDACTED:card]' }],
    structuredContent: { customer: { cards: ['[REDACTED:card]', 'none'], count: 2, active: true, note: null } },
    isError: false,
  });
  assert.deepEqual(r.counts, { card: 2 });
  assert.deepEqual(r.unreadable, []);
});

test('a result without matches comes back equal', () => {
  const result = { content: [{ type: 'text', text: 'nothing here' }], n: 1 };
  const r = maskJsonStrings(result, plan);
  assert.deepEqual(r.value, result);
  assert.deepEqual(r.counts, {});
});

test('binary content is reported by its JSON pointer: any blob, and data beside a mimeType', () => {
  const b64 = Buffer.from(CARD).toString('base64');
  const result = {
    content: [
      { type: 'image', data: b64, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'file:///a', blob: b64 } },
    ],
    'odd/key': { blob: b64 },
  };
  const r = maskJsonStrings(result, plan);
  assert.deepEqual(r.unreadable, ['/content/0/data', '/content/1/resource/blob', '/odd~1key/blob']);
});

test('a `data` string without a mimeType beside it is text, masked like any other', () => {
  const r = maskJsonStrings({ data: `card ${CARD}` }, plan);
  assert.deepEqual(r.unreadable, []);
  assert.deepEqual(r.value, { data: 'card [REDACTED:card]' });
});

test('a secret in an object key is masked too (a server chooses its keys)', () => {
  const r = maskJsonStrings({ structuredContent: { [CARD]: 'visa', plain: 1 } }, plan);
  assert.equal(JSON.stringify(r.value).includes(CARD), false, JSON.stringify(r.value));
  assert.deepEqual(r.value, { structuredContent: { '[REDACTED:card]': 'visa', plain: 1 } });
  assert.deepEqual(r.counts, { card: 1 });
});

test('keys that mask to the same text cannot both be kept: the object is unreadable (fail closed)', () => {
  const r = maskJsonStrings({ cards: { [CARD]: 'a', '5555555555554444': 'b' } }, plan);
  assert.deepEqual(r.unreadable, ['/cards']);
});

test('an own __proto__ key is kept as data, not turned into a prototype', () => {
  const value = JSON.parse(`{"__proto__": {"polluted": "${CARD}"}}`) as unknown;
  const r = maskJsonStrings(value, plan);
  assert.equal(JSON.stringify(r.value), '{"__proto__":{"polluted":"[REDACTED:card]"}}');
});
