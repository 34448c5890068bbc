// The gateway's own redaction of what the audit log keeps of an HTTP exchange: request bodies,
// queries, recorded header values and response samples, with every match of every detector of
// @agentgate/masking replaced by its marker (`[REDACTED:card]`). Always on and independent of
// policy: the request is recorded before any verdict exists, and a value policy would mask must
// not stay in the log raw. Only the record changes; what is forwarded is never touched. Pure.
import { DETECTOR_NAMES, DETECTORS, type Detector, redactionMarker, scan } from '@agentgate/masking';

const ALL_DETECTORS: readonly Detector[] = DETECTOR_NAMES.map((name) => DETECTORS[name]);

/** `text` with every detector match replaced by its marker; the very input when nothing matched. */
export function redactText(text: string): string {
  const matches = scan(text, ALL_DETECTORS);
  if (matches.length === 0) return text;
  let out = '';
  let copied = 0;
  for (const m of matches) {
    out += text.slice(copied, m.start) + redactionMarker(m.detector);
    copied = m.end;
  }
  return out + text.slice(copied);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A request body as recorded: its UTF-8 text redacted, or null when it is not UTF-8. */
export function recordedBody(body: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return null;
  }
  return redactText(text);
}

/** Bytes read past the cap so that a value the cap cuts in two is still found (and redacted whole). */
export const SAMPLE_LOOKAHEAD_BYTES = 256;

/**
 * The recorded start of a response body: `head` holds the first `cap` bytes the agent got and up
 * to SAMPLE_LOOKAHEAD_BYTES more; redacted, then cut to `cap` bytes (a UTF-8 sequence the cut
 * splits becomes U+FFFD).
 */
export function bodySample(head: Uint8Array, cap: number): string {
  const text = redactText(Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8'));
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= cap ? text : bytes.subarray(0, cap).toString('utf8');
}
