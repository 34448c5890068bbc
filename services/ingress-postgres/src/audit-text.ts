// What of a statement's text and bound parameters goes into its RequestObserved. A Kafka
// record has a size limit (1 MiB by default) while PostgreSQL accepts statements of up to
// 1 GiB, so long texts are capped: the event keeps the first bytes plus the full length and
// SHA-256, which bind the record to the exact statement that ran. The decision itself is
// made on the whole statement before it is capped.
import { createHash } from 'node:crypto';

/** The recorded form of a statement's text. */
export interface AuditedText {
  text: string;
  fullTextBytes: number | null;
  fullTextSha256: string | null;
}

const ELLIPSIS = '…';

/** The first `maxBytes` UTF-8 bytes of `text`, cut at a character boundary. */
function utf8Prefix(bytes: Buffer, maxBytes: number): string {
  let end = Math.min(maxBytes, bytes.length);
  // Continuation bytes are 10xxxxxx: step back to the start of the character.
  while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** The statement text as recorded: whole when it fits in `maxBytes`, else its prefix, length and digest. */
export function auditedText(text: string, maxBytes: number): AuditedText {
  // Cheap exit: no string of this many UTF-16 units can exceed maxBytes in UTF-8.
  if (text.length * 3 <= maxBytes) return { text, fullTextBytes: null, fullTextSha256: null };
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, fullTextBytes: null, fullTextSha256: null };
  return {
    text: utf8Prefix(bytes, maxBytes),
    fullTextBytes: bytes.length,
    fullTextSha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/**
 * Bound parameters as the audit log shows them: text as text, binary as \x hex. Each value is
 * capped at `maxEach` characters and all of them together at `maxTotal`; a capped value ends
 * with an ellipsis, and values past the total budget are recorded as just the ellipsis.
 */
export function auditedParameters(
  params: readonly (Buffer | null)[],
  formats: readonly number[],
  maxEach: number,
  maxTotal: number,
): (string | null)[] {
  let budget = maxTotal;
  return params.map((value, i) => {
    if (value === null) return null;
    if (budget <= 0) return ELLIPSIS;
    const binary = (formats.length === 1 ? formats[0] : formats[i]) === 1;
    const limit = Math.min(maxEach, budget);
    // Render no more than needed: a 70 MiB value must not become a 140 MiB hex string.
    const slice = value.subarray(0, binary ? Math.ceil(limit / 2) : limit * 4);
    let text = binary ? `\\x${slice.toString('hex')}` : slice.toString('utf8');
    const capped = text.length > limit || slice.length < value.length;
    if (capped) text = `${text.slice(0, limit)}${ELLIPSIS}`;
    budget -= text.length;
    return text;
  });
}
