// The HTTP part of a PolicyInput, from a recorded HttpRequest (the processor) or a test case.
// Pure: the body is parsed here once per request, so every rule reads the same document.
import type { HttpRequest } from '@agentgate/events';
import type { HttpTestRequest } from './compile.js';
import type { HttpBody, HttpInput } from './types.js';

type HttpFields = Pick<HttpRequest, 'method' | 'path' | 'query' | 'headers' | 'body' | 'bodyBytes' | 'contentType'>;

/**
 * Is this a JSON media type? `application/json`, `text/json` and any `+json` suffix type
 * (`application/vnd.schemaregistry.v1+json`), parameters (`; charset=utf-8`) ignored.
 */
export function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || type === 'text/json' || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
}

/**
 * What the policy sees of an HTTP request. The content type is the recorded `contentType`, else
 * the recorded content-type header. A JSON body the record does not hold (over the audit cap:
 * `body` null, `bodyBytes` > 0) or that does not parse is `unreadable`, never "no body".
 */
export function httpInput(r: HttpFields): HttpInput {
  const contentType = r.contentType ?? r.headers.find((h) => h.name.toLowerCase() === 'content-type')?.value ?? null;
  return {
    method: r.method,
    path: r.path,
    query: r.query,
    headers: r.headers.map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
    contentType,
    body: jsonBody(contentType, r.body, r.bodyBytes),
  };
}

function jsonBody(contentType: string | null, body: string | null, bodyBytes: number): HttpBody {
  if (!isJsonContentType(contentType)) return null;
  if (body === null || body === '') return bodyBytes > 0 ? 'unreadable' : null;
  try {
    return { json: JSON.parse(body) as unknown };
  } catch {
    return 'unreadable';
  }
}

/**
 * A test case's HTTP request. `query` is the raw query string or a map (form-encoded here);
 * `body` is the raw text when a string, else the value's JSON text; the content type defaults to
 * `application/json` when there is a body.
 */
export function httpTestInput(t: HttpTestRequest): HttpInput {
  const headers = Object.entries(t.headers ?? {}).map(([name, value]) => ({ name, value }));
  const body = t.body === undefined ? null : typeof t.body === 'string' ? t.body : JSON.stringify(t.body);
  const query = t.query === undefined ? null : typeof t.query === 'string' ? t.query : new URLSearchParams(t.query).toString();
  const contentType =
    t.contentType ?? headers.find((h) => h.name.toLowerCase() === 'content-type')?.value ?? (body === null ? null : 'application/json');
  return httpInput({
    method: t.method,
    path: t.path,
    query,
    headers,
    body,
    bodyBytes: body === null ? 0 : Buffer.byteLength(body),
    contentType,
  });
}
