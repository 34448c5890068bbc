import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TerminalFrame } from '@agentgate/events';
import { castHeader, castSeconds, castText, parseSize } from './asciicast.js';

test('a cast is the header line then one [seconds, code, data] line per frame', () => {
  const header = castHeader({ width: 80, height: 24, timestampSec: 1_504_467_315.9, title: 'Demo', env: { TERM: 'xterm-256color' } });
  const frames: TerminalFrame[] = [
    { offsetUs: 248_848, kind: 'o', data: '\u001b[1;31mHello \u001b[32mWorld!\u001b[0m\n' },
    { offsetUs: 1_001_376, kind: 'i', data: 'ls\r' },
    { offsetUs: 4_050_000, kind: 'r', data: '90x30' },
    { offsetUs: 12_000_000_001, kind: 'o', data: 'Bye "now"' },
  ];
  const text = castText(header, frames);
  assert.equal(
    text,
    '{"version":2,"width":80,"height":24,"timestamp":1504467315,"title":"Demo","env":{"TERM":"xterm-256color"}}\n' +
      '[0.248848, "o", "\\u001b[1;31mHello \\u001b[32mWorld!\\u001b[0m\\n"]\n' +
      '[1.001376, "i", "ls\\r"]\n' +
      '[4.050000, "r", "90x30"]\n' +
      '[12000.000001, "o", "Bye \\"now\\""]\n',
  );
  // every line is JSON, and times are seconds with microsecond precision
  const [head, ...events] = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(head.version, 2);
  assert.deepEqual(
    events.map((e: [number, string, string]) => Math.round(e[0] * 1e6)),
    frames.map((f) => f.offsetUs),
  );
});

test('the minimal header has version, width and height only', () => {
  assert.equal(JSON.stringify(castHeader({ width: 100, height: 40 })), '{"version":2,"width":100,"height":40}');
  assert.throws(() => castHeader({ width: 0, height: 24 }), RangeError);
});

test('seconds and sizes', () => {
  assert.equal(castSeconds(0), '0.000000');
  assert.equal(castSeconds(999_999), '0.999999');
  assert.equal(castSeconds(1_000_000), '1.000000');
  assert.deepEqual(parseSize('132x43'), { cols: 132, rows: 43 });
  assert.equal(parseSize('0x43'), undefined);
  assert.equal(parseSize('80 x 24'), undefined);
});
