// The agent's request-target (RFC 9112 origin-form, `/<connection>/<path>?<query>`) split into
// the connection, the path and the query the upstream receives. Normalised once, here: the path
// recorded for policy is byte for byte the path forwarded. Pure.
//
// Normalisation is RFC 3986 section 6.2.2 and nothing more: escapes of unreserved characters
// are decoded (%41 -> A), other escapes get upper-case hex, and raw bytes a URI may not hold
// are escaped. Reserved characters keep their form (%3B stays %3B, ; stays ;): servers differ
// on what an escaped delimiter means, so neither form is turned into the other.
//
// Refused (the caller answers 400 and forwards nothing), because servers disagree on them and a
// policy on paths would see something other than what the upstream acts on:
//   - malformed escapes (%zz, a trailing %); a path whose bytes are not UTF-8;
//   - `.` and `..` segments, raw or escaped (%2e%2e);
//   - escaped `/` or `\` (%2F, %5C), a raw `\`, escaped NUL or control characters in the path;
//   - empty segments inside the path (`a//b`);
//   - anything but origin-form (absolute URLs, `*`), and fragments.
import { CONNECTION_NAME } from './connections.js';

export interface RequestTarget {
  readonly connection: string;
  /** The path after /<connection>, normalised: always begins with `/`. */
  readonly path: string;
  /** The query without its `?`, normalised; null when the target has no `?`. */
  readonly query: string | null;
}

export type TargetParse = { readonly ok: true; readonly target: RequestTarget } | { readonly ok: false; readonly reason: string };

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// pchar = unreserved / pct-encoded / sub-delims / ":" / "@" (RFC 3986 section 3.3); `%` is handled apart.
const PCHAR_RAW = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;
// query = *( pchar / "/" / "?" )
const QUERY_RAW = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Refused {
  constructor(readonly reason: string) {}
}

function hex(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * One path segment or the query, normalised; `decoded` receives the bytes it stands for so that
 * the caller can look at them. The input comes from node's parser as latin1 (one char a byte).
 */
function normalise(raw: string, allowed: RegExp, decoded: number[]): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const h = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new Refused('malformed percent-encoding');
      const byte = Number.parseInt(h, 16);
      const ch = String.fromCharCode(byte);
      out += UNRESERVED.test(ch) ? ch : hex(byte);
      decoded.push(byte);
      i += 2;
      continue;
    }
    const code = c.charCodeAt(0);
    if (code > 0xff) throw new Refused('a request-target is bytes');
    if (c === '\\') throw new Refused('a backslash in the path');
    out += allowed.test(c) ? c : hex(code);
    decoded.push(code);
  }
  return out;
}

function segment(raw: string): string {
  const bytes: number[] = [];
  const out = normalise(raw, PCHAR_RAW, bytes);
  if (bytes.some((b) => b === 0x2f || b === 0x5c)) throw new Refused('an encoded slash or backslash in the path');
  if (bytes.some((b) => b < 0x20 || b === 0x7f)) throw new Refused('a control character in the path');
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new Refused('a path that is not UTF-8');
  }
  if (text === '.' || text === '..') throw new Refused('a dot segment in the path');
  return out;
}

/** Splits and normalises the request-target of an agent's request (see the rules at the top). */
export function parseRequestTarget(url: string): TargetParse {
  try {
    if (!url.startsWith('/')) throw new Refused('the request-target must be a path (origin-form)');
    if (url.includes('#')) throw new Refused('a fragment in the request-target');
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? null : url.slice(q + 1);
    const [connection = '', ...rest] = rawPath.slice(1).split('/');
    if (!CONNECTION_NAME.test(connection)) throw new Refused('the first path segment must name a connection: /<connection>/<path>');
    rest.forEach((s, i) => {
      if (s === '' && i < rest.length - 1) throw new Refused('an empty segment in the path');
    });
    const path = `/${rest.map(segment).join('/')}`;
    const query = rawQuery === null ? null : normalise(rawQuery, QUERY_RAW, []);
    return { ok: true, target: { connection, path, query } };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, reason: err.reason };
    throw err;
  }
}

/** The upstream's request-target: the connection's base path, the agent's path, its query. */
export function upstreamPath(basePath: string, target: RequestTarget): string {
  return `${basePath}${target.path}${target.query === null ? '' : `?${target.query}`}`;
}
