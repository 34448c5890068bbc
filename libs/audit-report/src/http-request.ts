// The HTTP side of a replay: an HttpRequest detail read back from a RequestObserved's payload_json
// (HTTP requests leave sql_text empty), the HTTP fields of its ResponseObserved, and their lines
// in the transcript. Lines come back unescaped: the transcript escapes every line it prints.
import { type Json, optNumber, optString, shorten, unionRecord } from './payload-values.js';

/** What an HTTP request asked for, as recorded (HttpRequest in schemas/audit-event.avsc). */
export interface TranscriptHttp {
  method: string;
  path: string;
  query: string | null;
  /** The body up to the audit cap, detector matches redacted; null for other or larger bodies. */
  body: string | null;
  bodyBytes: number;
  contentType: string | null;
}

/** The body of a response as the agent received it: HTTP responses and MCP results. */
export interface TranscriptBody {
  /** HTTP only: the status the agent received (null when it received none). */
  httpStatus: number | null;
  /** Bytes of the response body (HTTP) or of the result's JSON text (MCP). */
  bytes: number;
  /** Its first bytes, masked, as the agent saw them. */
  bodySample: string | null;
}

/** How much of a body or an argument list a transcript line shows; --json has all that was recorded. */
export const SHOWN_CHARS = 200;

/** The HttpRequest of a RequestObserved payload, or null when the detail is another kind. */
export function httpRequestOf(payload: Json): TranscriptHttp | null {
  const d = unionRecord(payload['detail'], 'HttpRequest');
  if (d === null) return null;
  return {
    method: optString(d['method']) ?? '?',
    path: optString(d['path']) ?? '',
    query: optString(d['query']),
    body: optString(d['body']),
    bodyBytes: optNumber(d['bodyBytes']) ?? 0,
    contentType: optString(d['contentType']),
  };
}

/** The body fields of a ResponseObserved payload. */
export function responseBodyOf(payload: Json): TranscriptBody {
  return {
    httpStatus: optNumber(payload['httpStatus']),
    bytes: optNumber(payload['bytes']) ?? 0,
    bodySample: optString(payload['bodySample']),
  };
}

/** `GET /path?query`, and the start of a recorded body (or its size when it was not recorded). */
export function httpText(h: TranscriptHttp): string {
  const target = `${h.method} ${h.path}${h.query === null || h.query === '' ? '' : `?${h.query}`}`;
  if (h.bodyBytes === 0) return target;
  const type = h.contentType === null ? '' : `, ${h.contentType}`;
  if (h.body === null) return `${target} (body ${h.bodyBytes} bytes${type}, not recorded)`;
  return `${target} (body ${h.bodyBytes} bytes${type}) ${shorten(h.body, SHOWN_CHARS)}`;
}

/** A masked sample as one transcript line: shortened, and marked when the recording was cut too. */
export function sampleLine(label: string, sample: string | null, truncated: boolean): string[] {
  if (sample === null || sample === '') return [];
  const cut = truncated || Array.from(sample).length > SHOWN_CHARS;
  return [`${label} (masked, as the agent saw it${cut ? ', shortened' : ''}): ${shorten(sample, SHOWN_CHARS)}`];
}

/** What a response line of an HTTP or MCP request reads from its ResponseObserved. */
export interface ResponseSummary {
  outcome: string;
  errorCode: string | null;
  errorMessage: string | null;
  masking: readonly { key: string; count: number }[];
  sampleTruncated: boolean;
}

/**
 * The response of an HTTP exchange or an MCP request: outcome and error, `size` (status and
 * bytes, or what the protocol says of its result), masking counts, the start of what the agent got.
 */
export function bodyResponseLines(
  r: ResponseSummary,
  size: string,
  label: 'body' | 'result',
  body: TranscriptBody,
  timing: string,
): string[] {
  const error = r.errorCode === null ? '' : ` ${r.errorCode}${r.errorMessage === null ? '' : `: ${r.errorMessage}`}`;
  const lines = [`response: ${r.outcome}${error}${size}${timing}`];
  if (r.masking.length > 0) lines.push(`masked: ${r.masking.map((m) => `${m.key} x${m.count}`).join(', ')}`);
  return [...lines, ...sampleLine(label, body.bodySample, r.sampleTruncated)];
}

/** The response of an HTTP request: outcome and status, size, masking counts, the start of the body. */
export function httpResponseLines(r: ResponseSummary, body: TranscriptBody, timing: string): string[] {
  const status = body.httpStatus === null ? 'no HTTP status' : `HTTP ${body.httpStatus}`;
  return bodyResponseLines(r, `, ${status}, ${body.bytes} bytes`, 'body', body, timing);
}
