// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): newline-delimited JSON, the
// header object on the first line, then one `[seconds, code, data]` array per event, seconds
// since the start as a float. Codes: o output, i input, r resize (data "COLSxROWS"), m marker.
import type { TerminalFrame } from '@agentgate/events';

/** The header line of an asciicast v2 file (the attributes this project writes). */
export interface CastHeader {
  /** Must be 2. */
  readonly version: 2;
  /** Initial terminal width, in columns. */
  readonly width: number;
  /** Initial terminal height, in rows. */
  readonly height: number;
  /** Unix time of the beginning of the recording, whole seconds. */
  readonly timestamp?: number;
  readonly title?: string;
  /** Captured environment variables, e.g. TERM. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The header for a terminal of `width` x `height` recorded from `timestampSec` (floored to whole seconds). */
export function castHeader(options: {
  width: number;
  height: number;
  timestampSec?: number;
  title?: string;
  env?: Readonly<Record<string, string>>;
}): CastHeader {
  const dim = (n: number, what: string): number => {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
    return n;
  };
  return {
    version: 2,
    width: dim(options.width, 'width'),
    height: dim(options.height, 'height'),
    ...(options.timestampSec === undefined ? {} : { timestamp: Math.floor(options.timestampSec) }),
    ...(options.title === undefined ? {} : { title: options.title }),
    ...(options.env === undefined ? {} : { env: { ...options.env } }),
  };
}

/** Seconds since the start with microsecond precision, as asciicast writes them (`1.001376`). */
export function castSeconds(offsetUs: number): string {
  const us = Math.max(0, Math.round(offsetUs));
  return `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** One event line (without its newline). */
export function castEventLine(frame: TerminalFrame): string {
  return `[${castSeconds(frame.offsetUs)}, ${JSON.stringify(frame.kind)}, ${JSON.stringify(frame.data)}]`;
}

/** The text of a .cast file: the header line, then one line per frame in the order given, each ending in a newline. */
export function castText(header: CastHeader, frames: readonly TerminalFrame[]): string {
  const lines = [JSON.stringify(header)];
  for (const f of frames) lines.push(castEventLine(f));
  return `${lines.join('\n')}\n`;
}

/** Parses a resize event's data, "COLSxROWS"; undefined when malformed. */
export function parseSize(data: string): { cols: number; rows: number } | undefined {
  const m = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(data);
  if (!m) return undefined;
  return { cols: Number(m[1]), rows: Number(m[2]) };
}
