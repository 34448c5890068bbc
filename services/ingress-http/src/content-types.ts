// Which bodies are text (masked, sampled, recorded) and which pass as bytes. Pure.
//
// Text: text/*, JSON and XML (with their +json / +xml suffixes), JavaScript, forms, NDJSON,
// YAML. A body without Content-Type is treated as text: it may be anything, and the masker is
// byte-transparent where nothing matches, so masking it costs little and misses nothing. Other
// types (images, archives, octet-stream) pass unchanged. A compressed body is text only once
// decoded: the gateway asks for identity, and decodes gzip, deflate and br itself when a masked
// body comes compressed anyway; any other encoding of a body it must mask is refused.

const TEXT_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/x-www-form-urlencoded',
  'application/x-ndjson',
  'application/jsonl',
  'application/yaml',
  'application/x-yaml',
  'application/graphql',
]);

export const EVENT_STREAM = 'text/event-stream';

export type Decoding = 'gzip' | 'deflate' | 'br';

/** The media type alone, lower case: `Text/HTML; charset=utf-8` -> `text/html`; '' when absent. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether a body of this Content-Type is text (see the top of this file). */
export function isTextLike(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  if (type === '') return true;
  return type.startsWith('text/') || TEXT_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml');
}

/** The codings of a Content-Encoding, in order applied, without `identity`. */
export function contentCodings(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

export type ResponseTreatment =
  | {
      readonly kind: 'relay';
      /** Pass through the verdict's masker. */
      readonly mask: boolean;
      /** Text the agent reads: its start is recorded (bodySample). */
      readonly text: boolean;
      /** Server-sent events: released event by event. */
      readonly sse: boolean;
      /** Decoded by the gateway before masking (the agent gets it decoded). */
      readonly decode: Decoding | null;
    }
  | { readonly kind: 'refuse'; readonly reason: string };

/** How a response body travels, given its headers and whether the verdict masks anything. */
export function responseTreatment(
  contentType: string | undefined,
  contentEncoding: string | undefined,
  masked: boolean,
): ResponseTreatment {
  const textual = isTextLike(contentType);
  const sse = mediaType(contentType) === EVENT_STREAM;
  const codings = contentCodings(contentEncoding);
  if (codings.length === 0) return { kind: 'relay', mask: masked && textual, text: textual, sse, decode: null };
  if (!masked || !textual) return { kind: 'relay', mask: false, text: false, sse: false, decode: null };
  const only = codings.length === 1 ? codings[0] : undefined;
  const decode: Decoding | undefined =
    only === 'gzip' || only === 'x-gzip' ? 'gzip' : only === 'deflate' || only === 'br' ? only : undefined;
  if (decode === undefined) return { kind: 'refuse', reason: `a masked body in content-encoding ${codings.join(', ')}` };
  return { kind: 'relay', mask: true, text: true, sse, decode };
}

/** Whether a request body is recorded as text (it also has to fit the audit cap and be UTF-8). */
export function recordableRequestBody(contentType: string | undefined, contentEncoding: string | undefined): boolean {
  return isTextLike(contentType) && contentCodings(contentEncoding).length === 0;
}
