// Replaying a recorded terminal: its final screen through a headless xterm, and timed playback.
import type { TerminalFrame } from '@agentgate/events';
// @xterm/headless is CommonJS without named ESM exports: Node gives only the default.
import xterm from '@xterm/headless';
import { type CastHeader, parseSize } from './asciicast.js';

/**
 * The visible rows of the terminal after every `o` frame (and `r` resize) is applied, each
 * right-trimmed; as many rows as the terminal has at the end. `i` frames are not output.
 */
export async function finalScreen(header: Pick<CastHeader, 'width' | 'height'>, frames: readonly TerminalFrame[]): Promise<string[]> {
  const term = new xterm.Terminal({ cols: header.width, rows: header.height, allowProposedApi: true, scrollback: 0 });
  try {
    const write = (data: string): Promise<void> => new Promise((resolve) => term.write(data, resolve));
    let pending = '';
    for (const f of frames) {
      if (f.kind === 'o') pending += f.data;
      else if (f.kind === 'r') {
        const size = parseSize(f.data);
        if (size === undefined) continue;
        // a resize applies to what was written before it, so that output is parsed first
        if (pending !== '') await write(pending);
        pending = '';
        term.resize(size.cols, size.rows);
      }
    }
    if (pending !== '') await write(pending);
    const buffer = term.buffer.active;
    const rows: string[] = [];
    for (let y = 0; y < term.rows; y++) {
      // written blanks are cells too: trimmed like unwritten ones, as tmux's capture-pane does
      rows.push((buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '').replace(/ +$/, ''));
    }
    return rows;
  } finally {
    term.dispose();
  }
}

export interface PlayOptions {
  /** Playback speed factor: 2 plays twice as fast; 0 writes everything without waiting. */
  readonly speed: number;
  /** Longest pause between two output frames, in recorded seconds (asciicast's idle_time_limit). */
  readonly maxIdleSec: number;
  /** Waits `ms` milliseconds (injected: tests pass a recorder). */
  readonly sleep: (ms: number) => Promise<void>;
}

/** Writes the `o` frames with their recorded timing (scaled by speed, pauses capped at maxIdleSec). */
export async function play(frames: readonly TerminalFrame[], write: (s: string) => void, options: PlayOptions): Promise<void> {
  if (!(options.speed >= 0) || !(options.maxIdleSec >= 0)) throw new RangeError('speed and maxIdleSec must be >= 0');
  let lastUs: number | undefined;
  for (const f of frames) {
    if (f.kind !== 'o') continue;
    const gapSec = lastUs === undefined ? 0 : Math.min(Math.max(0, f.offsetUs - lastUs) / 1e6, options.maxIdleSec);
    lastUs = f.offsetUs;
    if (options.speed > 0 && gapSec > 0) await options.sleep((gapSec * 1000) / options.speed);
    write(f.data);
  }
}
