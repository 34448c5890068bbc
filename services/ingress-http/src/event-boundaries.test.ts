import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DETECTOR_NAMES, type MaskingPlan, compileMaskingPlan } from '@agentgate/masking';
import { StreamMasker } from '@agentgate/terminal';
import { EventBoundaries } from './event-boundaries.js';
import { relayBody } from './response-relay.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const split = (chunks: string[]): [string, boolean][] => {
  const e = new EventBoundaries();
  return chunks.flatMap((c) => e.split(Buffer.from(c, 'latin1')).map((s): [string, boolean] => [text(s.bytes), s.boundary]));
};

test('cuts after each empty line, whatever the line terminator', () => {
  assert.deepEqual(split(['data: a\n\ndata: b\n\ndata: c']), [
    ['data: a\n\n', true],
    ['data: b\n\n', true],
    ['data: c', false],
  ]);
  assert.deepEqual(split(['data: a\r\n\r\nx']), [
    ['data: a\r\n\r\n', true],
    ['x', false],
  ]);
  assert.deepEqual(split(['data: a\r\rx']), [
    ['data: a\r\r', true],
    ['x', false],
  ]);
  assert.deepEqual(split(['data: a\ndata: b\n']), [['data: a\ndata: b\n', false]]);
});

test('finds a boundary split over two chunks', () => {
  assert.deepEqual(split(['data: a\n', '\ndata: b']), [
    ['data: a\n', false],
    ['\n', true],
    ['data: b', false],
  ]);
  assert.deepEqual(split(['data: a\r\n\r', '\nx']), [
    ['data: a\r\n\r', true],
    ['\nx', false],
  ]);
});

const plan: MaskingPlan = { version: 1, rules: [], detectors: [...DETECTOR_NAMES], defaultDetectorStrategy: { kind: 'redact' } };
const compiled = compileMaskingPlan(plan, { current: { id: 'k', secret: new Uint8Array(32).fill(1) } });

test('SSE through the relay: each event reaches the agent once complete, masked; a value split over chunks is held', async () => {
  const chunks = ['data: card 4111 1111', ' 1111 1111\n\n', 'data: second\n\n', 'data: open'];
  const out: string[] = [];
  // What the agent had received when chunk i was handed over (the relay reads on only after writing).
  const before: string[] = [];
  async function* body(): AsyncGenerator<Buffer> {
    for (const c of chunks) {
      before.push(out.join(''));
      yield Buffer.from(c);
    }
  }
  const relayed = await relayBody({
    body: body(),
    filter: new StreamMasker(compiled),
    sse: true,
    sampleBytes: 1024,
    write: async (b) => {
      out.push(b.toString('latin1'));
    },
  });
  assert.deepEqual(before, ['', '', 'data: card [REDACTED:card]\n\n', 'data: card [REDACTED:card]\n\ndata: second\n\n']);
  assert.equal(out.join(''), 'data: card [REDACTED:card]\n\ndata: second\n\ndata: open');
  assert.deepEqual(relayed.masking, { 'detector:card': 1 });
  assert.equal(relayed.sample, out.join(''));
});
