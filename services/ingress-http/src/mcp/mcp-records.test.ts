// The audit payloads of MCP requests: what the log keeps of arguments, results and names.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { mcpDetail, mcpResponse, recordedArguments } from './mcp-records.js';

const CARD = '4111111111111111';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

test('no arguments are recorded as none', () => {
  assert.deepEqual(recordedArguments(undefined, 100), { arguments: null, argumentsBytes: 0, argumentsDigest: null });
});

test('arguments are recorded as JSON text with detector matches redacted; size and digest are of what was sent', () => {
  const args = { id: `c-${CARD}`, n: 3 };
  const text = JSON.stringify(args);
  const r = recordedArguments(args, 4096);
  assert.equal(r.arguments, '{"id":"c-[REDACTED:card]","n":3}');
  assert.equal(r.argumentsBytes, Buffer.byteLength(text));
  assert.equal(r.argumentsDigest, sha256(text));
});

test('a secret JSON escaping would hide (a newline or quote beside it) is redacted all the same', () => {
  const env = 'A=1\nPASSWORD=hunter2secret\nB=2';
  const quoted = 'password="hunter2secret"';
  const r = recordedArguments({ path: '.env', content: env, line: quoted }, 4096);
  assert.ok(r.arguments !== null);
  assert.equal(r.arguments.includes('hunter2secret'), false, r.arguments);
  assert.ok(JSON.parse(r.arguments), 'the record is still JSON (policy reads it)');
});

test('a secret in an argument name is redacted too', () => {
  const r = recordedArguments({ [CARD]: 1 }, 4096);
  assert.equal(r.arguments?.includes(CARD), false, r.arguments ?? '');
});

test('arguments up to the cap are kept; past it only their size and digest', () => {
  const args = { v: 'x'.repeat(100) };
  const bytes = Buffer.byteLength(JSON.stringify(args));
  assert.notEqual(recordedArguments(args, bytes).arguments, null);
  const past = recordedArguments(args, bytes - 1);
  assert.equal(past.arguments, null);
  assert.equal(past.argumentsBytes, bytes);
  assert.equal(past.argumentsDigest, sha256(JSON.stringify(args)));
});

test('the cap counts UTF-8 bytes, not characters', () => {
  const args = { v: 'é'.repeat(10) };
  const chars = JSON.stringify(args).length;
  assert.equal(recordedArguments(args, chars).arguments, null);
  assert.equal(recordedArguments(args, chars).argumentsBytes, chars + 10);
});

test('a resource URI and a name are recorded redacted', () => {
  const d = mcpDetail({ method: 'resources/read', uri: `file:///cards/${CARD}.txt` });
  assert.equal(d.uri, 'file:///cards/[REDACTED:card].txt');
  assert.equal(mcpDetail({ method: 'prompts/get', name: `p-${CARD}` }).name, 'p-[REDACTED:card]');
  assert.equal(mcpDetail({ method: 'tools/list' }).uri, null);
});

test("a response's sample is redacted string by string; size and digest are of what the agent got", () => {
  const result = { content: [{ type: 'text', text: `A=1\nPASSWORD=hunter2secret\ncard ${CARD}` }] };
  const text = JSON.stringify(result);
  const r = mcpResponse('r1', 'ok', { durationUs: 5, result, sampleBytes: 4096, masking: { card: 1 } });
  assert.ok(r.bodySample !== null);
  assert.equal(r.bodySample.includes('hunter2secret'), false, r.bodySample);
  assert.equal(r.bodySample.includes(CARD), false, r.bodySample);
  assert.equal(r.bytes, Buffer.byteLength(text));
  assert.equal(r.resultDigest, sha256(text));
  assert.equal(r.sampleTruncated, false);
  assert.deepEqual(r.masking, [{ key: 'card', count: 1 }]);
});

test('a sample past the cap is cut and marked truncated', () => {
  const r = mcpResponse('r1', 'ok', { durationUs: 5, result: { v: 'y'.repeat(500) }, sampleBytes: 64 });
  assert.equal(r.sampleTruncated, true);
  assert.ok(Buffer.byteLength(r.bodySample ?? '') <= 64);
});

test('a response without a result records no sample; its error message is redacted', () => {
  const r = mcpResponse('r1', 'error', { durationUs: 5, sampleBytes: 64, errorCode: 'JSONRPC_-32000', errorMessage: `no ${CARD}` });
  assert.equal(r.bodySample, null);
  assert.equal(r.resultDigest, null);
  assert.equal(r.errorMessage, 'no [REDACTED:card]');
  assert.equal(r.errorCode, 'JSONRPC_-32000');
});
