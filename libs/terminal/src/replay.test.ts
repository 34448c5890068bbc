import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TerminalFrame } from '@agentgate/events';
import { finalScreen, play } from './replay.js';

const o = (offsetUs: number, data: string): TerminalFrame => ({ offsetUs, kind: 'o', data });

test('the final screen applies cursor movement, erasing and clear-screen', async () => {
  // What `printf` with escapes and a shell would print, split into frames at awkward places.
  const frames: TerminalFrame[] = [
    o(0, 'garbage line 1\r\ngarbage line 2\r\n'),
    o(10, '\u001b[2J\u001b[H'), // clear the screen, cursor home
    o(20, 'first\r\nsecond line\r\nthird'),
    o(30, '\u001b[2;1H'), // row 2, column 1
    o(40, 'SECOND\u001b[K'), // overwrite, erase to end of line
    o(50, '\u001b[3;7Hrow\u001b'),
    o(60, '[1;32m!\u001b[0m'), // an escape sequence split across frames
    { offsetUs: 70, kind: 'i', data: 'never shown' },
    o(80, '\u001b[5;3Hx\r\n$ '),
  ];
  const screen = await finalScreen({ width: 20, height: 6 }, frames);
  assert.deepEqual(screen, ['first', 'SECOND', 'third row!', '', '  x', '$']);
});

test('output scrolls, and a resize changes the screen size', async () => {
  const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\r\n');
  assert.deepEqual(await finalScreen({ width: 10, height: 3 }, [o(0, lines)]), ['line 7', 'line 8', 'line 9']);
  const resized = await finalScreen({ width: 10, height: 3 }, [o(0, 'a'), { offsetUs: 1, kind: 'r', data: '12x4' }, o(2, '\r\nb')]);
  assert.equal(resized.length, 4);
  assert.deepEqual(resized.slice(0, 2), ['a', 'b']);
});

test('play waits the recorded gaps, scaled by speed and capped by maxIdleSec', async () => {
  const frames: TerminalFrame[] = [
    o(1_000_000, 'a'),
    o(1_500_000, 'b'),
    { offsetUs: 1_600_000, kind: 'i', data: 'x' },
    o(9_500_000, 'c'),
    o(9_500_000, 'd'),
  ];
  const log: string[] = [];
  const sleep = async (ms: number): Promise<void> => {
    log.push(`sleep ${ms}`);
  };
  await play(frames, (s) => log.push(s), { speed: 2, maxIdleSec: 3, sleep });
  assert.deepEqual(log, ['a', 'sleep 250', 'b', 'sleep 1500', 'c', 'd']);
  log.length = 0;
  await play(frames, (s) => log.push(s), { speed: 0, maxIdleSec: 3, sleep });
  assert.deepEqual(log, ['a', 'b', 'c', 'd']);
});
