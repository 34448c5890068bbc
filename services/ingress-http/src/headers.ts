// Which headers cross the gateway, each way, and which the audit log records. Pure.
//
// Towards the upstream: the agent's headers minus the hop-by-hop ones (RFC 9110 section 7.6.1,
// and any the Connection header names), minus the agent's own credentials (Authorization,
// Cookie, Proxy-Authorization: the upstream gets the gateway's credential instead), minus what
// the gateway sets itself (Host, Content-Length from the body it forwards, Accept-Encoding:
// identity so that a response can be masked) and minus claims about the client the upstream
// might trust (Forwarded, X-Forwarded-*, X-Real-IP), Range and If-Range (a part of a value escapes
// the detectors) and method overrides (policy decides on the method line).
// Towards the agent: the upstream's headers minus the hop-by-hop ones, minus Set-Cookie (a
// session with the upstream belongs to the gateway's credential, not to the agent), minus the
// gateway's own x-agentgate-* names, and minus the length and digests a masked body no longer has.
// Recorded: an allow-list only (content-type, accept, user-agent, content-length and x-*
// headers whose name does not say credential), values with detector matches redacted.
import type { HttpHeader } from '@agentgate/events';

export type HeaderMap = Record<string, string[]>;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NOT_FORWARDED = new Set([
  'host',
  'authorization',
  'cookie',
  'content-length',
  'expect',
  'accept-encoding',
  'forwarded',
  'x-real-ip',
  'http2-settings',
  // A part of a body escapes the detectors that would match the whole value; ranges go.
  'range',
  'if-range',
  // What the method means is decided by policy on the method line: overrides never reach the upstream.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

const NOT_RETURNED = new Set(['set-cookie', 'set-cookie2']);
/** Headers that describe the exact bytes of the body: wrong once the gateway changed them. */
const BODY_BYTES_HEADERS = new Set(['content-length', 'content-md5', 'digest', 'content-digest', 'repr-digest', 'etag', 'content-range']);

const RECORDED = new Set(['content-type', 'accept', 'user-agent', 'content-length']);
/** An x-* header whose name says it carries a secret is never recorded. */
const CREDENTIAL_NAME = /auth|token|key|secret|pass|session|cookie|sig|credential|csrf|xsrf|jwt|otp|bearer/i;
const MAX_RECORDED_HEADERS = 64;
const MAX_RECORDED_VALUE = 1024;

/** The gateway's own response headers (upstream headers of these names are dropped). */
export const SESSION_HEADER = 'x-agentgate-session-id';
export const REQUEST_HEADER = 'x-agentgate-request-id';

/** Node's rawHeaders ([name, value, name, value, ...]) as lower-case names, values in order. */
export function headerMap(rawHeaders: readonly string[]): HeaderMap {
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = out[name] ?? [];
    values.push(rawHeaders[i + 1]!);
    out[name] = values;
  }
  return out;
}

/** The names a Connection header lists: hop-by-hop too. */
function connectionTokens(connection: readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of connection ?? []) for (const t of v.split(',')) if (t.trim() !== '') out.add(t.trim().toLowerCase());
  return out;
}

/** The agent's headers as forwarded to the upstream, before the upstream credential is added. */
export function forwardedRequestHeaders(agent: HeaderMap): HeaderMap {
  const listed = connectionTokens(agent['connection']);
  const out: HeaderMap = {};
  for (const [name, values] of Object.entries(agent)) {
    if (HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name) || listed.has(name) || name.startsWith('x-forwarded-')) continue;
    out[name] = [...values];
  }
  out['accept-encoding'] = ['identity'];
  return out;
}

/** The headers a RequestObserved records: the allow-list, each value passed through `redact`. */
export function recordedRequestHeaders(agent: HeaderMap, redact: (value: string) => string): HttpHeader[] {
  const listed = connectionTokens(agent['connection']);
  const out: HttpHeader[] = [];
  for (const [name, values] of Object.entries(agent)) {
    const forwardedX = name.startsWith('x-') && !name.startsWith('x-forwarded-') && !listed.has(name);
    const allowed = RECORDED.has(name) || (forwardedX && !CREDENTIAL_NAME.test(name));
    if (!allowed) continue;
    for (const value of values) {
      if (out.length >= MAX_RECORDED_HEADERS) return out;
      out.push({ name, value: redact(value.slice(0, MAX_RECORDED_VALUE)) });
    }
  }
  return out;
}

/**
 * The upstream's response headers as the agent gets them. `bodyRewritten`: the gateway changes
 * the body's bytes (masking or decoding), so its length, digests, ranges and encoding go.
 */
export function returnedResponseHeaders(
  upstream: Readonly<Record<string, string | string[] | undefined>>,
  options: { bodyRewritten: boolean; decoded: boolean },
): HeaderMap {
  const connection = upstream['connection'];
  const listed = connectionTokens(connection === undefined ? undefined : ([] as string[]).concat(connection));
  const out: HeaderMap = {};
  for (const [raw, value] of Object.entries(upstream)) {
    const name = raw.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || NOT_RETURNED.has(name)) continue;
    if (name === SESSION_HEADER || name === REQUEST_HEADER) continue;
    if (options.bodyRewritten && BODY_BYTES_HEADERS.has(name)) continue;
    if (options.decoded && name === 'content-encoding') continue;
    out[name] = ([] as string[]).concat(value);
  }
  return out;
}
