// Personal identifiers: US social security numbers, e-mail addresses, phone numbers.
import { HAS_AT, HAS_DASH, HAS_DOT, HAS_PAREN, HAS_PLUS, HAS_SPACE, digitCount } from '../text-profile.js';
import type { Detector, DetectorMatch } from '../types.js';

// AAA-GG-SSSS or AAA GG SSSS (the same separator twice), not inside a longer digit sequence.
const SSN = /(?<![0-9]|[0-9][- ])([0-9]{3})([- ])([0-9]{2})\2([0-9]{4})(?![0-9]|[- ][0-9])/g;

/**
 * US social security numbers written `AAA-GG-SSSS` or `AAA GG SSSS`; never issued numbers are
 * refused: area 000, 666 or 900-999, group 00, serial 0000. Nine bare digits are not detected.
 */
export const usSsnDetector: Detector = {
  name: 'us-ssn',
  mayMatch: (profile) => digitCount(profile) >= 9 && (profile & (HAS_DASH | HAS_SPACE)) !== 0,
  find(text) {
    const out: DetectorMatch[] = [];
    if (!hasSsnSeparators(text)) return out;
    SSN.lastIndex = 0;
    for (let m = SSN.exec(text); m !== null; m = SSN.exec(text)) {
      const area = m[1]!;
      if (area === '000' || area === '666' || area.charCodeAt(0) === 57) continue;
      if (m[3] === '00' || m[4] === '0000') continue;
      out.push({ detector: 'us-ssn', start: m.index, end: m.index + m[0].length });
    }
    return out;
  },
};

// Whether `text` has the middle of an SSN, a separator, two digits and the same separator
// (`-12-`, ` 12 `), which the expression needs: phone numbers and most dates have not, and
// this loop costs less than the expression's search.
function hasSsnSeparators(text: string): boolean {
  for (let i = 0; i + 3 < text.length; i++) {
    const c = text.charCodeAt(i);
    if (
      (c === 45 || c === 32) &&
      text.charCodeAt(i + 3) === c &&
      isDigitCode(text.charCodeAt(i + 1)) &&
      isDigitCode(text.charCodeAt(i + 2))
    )
      return true;
  }
  return false;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

// Local part: dot-atom characters (no quoted strings); domain: LDH labels and an alphabetic TLD.
// The look-behind keeps the search from restarting inside a local part, so a long run of
// local-part characters costs one attempt, not one per character.
const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9-]|\.[A-Za-z0-9])/g;

/**
 * E-mail addresses, a pragmatic RFC 5322 subset: dot-atom local part (no leading, trailing or
 * doubled dot), at least two domain labels, an alphabetic top-level domain.
 */
export const emailDetector: Detector = {
  name: 'email',
  mayMatch: (profile) => (profile & (HAS_AT | HAS_DOT)) === (HAS_AT | HAS_DOT),
  find(text) {
    const out: DetectorMatch[] = [];
    EMAIL.lastIndex = 0;
    for (let m = EMAIL.exec(text); m !== null; m = EMAIL.exec(text)) {
      const s = m[0];
      const at = s.indexOf('@');
      if (s.charCodeAt(0) === 46 || s.charCodeAt(at - 1) === 46 || s.slice(0, at).includes('..')) continue;
      if (inUriUserinfo(text, m.index)) continue;
      // `.invalid` is reserved (RFC 2606): no mailbox exists there. Tokenized e-mails use it, so a
      // token is not taken for personal data and masked a second time.
      if (/\.invalid$/i.test(s)) continue;
      out.push({ detector: 'email', start: m.index, end: m.index + s.length });
    }
    return out;
  },
};

// `password@host` in `scheme://user:password@host` is the connection-string detector's: an
// e-mail match there would be longer and mask the host too.
function inUriUserinfo(text: string, start: number): boolean {
  const s = text.lastIndexOf('://', start);
  if (s < 0) return false;
  for (let k = s + 3; k < start; k++) {
    const c = text.charCodeAt(k);
    if (c <= 32 || c === 47 || c === 63 || c === 35 || c === 64) return false;
  }
  return true;
}

// E.164 candidate: '+', a non-zero digit, then digits, spaces, dashes, parentheses; the
// structure is checked in code (a flat class here, so no nested quantifier can backtrack).
const E164_CANDIDATE = /(?<![0-9A-Za-z+])\+[1-9][0-9 ()-]{6,26}/g;
// NANP: (415) 555-2671, 415-555-2671, 415.555.2671, 415 555 2671, optionally after "1-".
const NANP =
  /(?<![0-9A-Za-z+]|[0-9][-.])(?:1[-. ])?(?:\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[- ][0-9]{4}|[2-9][0-9]{2}([-. ])[2-9][0-9]{2}\1[0-9]{4})(?![0-9]|[-.][0-9])/g;

/**
 * Phone numbers: E.164 (`+`, 8-15 digits, single spaces or dashes, one pair of parentheses
 * around digits) and NANP (`(415) 555-2671`, `415-555-2671`, with area and exchange 2-9xx).
 * Dates, times and integers without `+` or NANP grouping are not phone numbers.
 */
export const phoneDetector: Detector = {
  name: 'phone',
  mayMatch: (profile) =>
    digitCount(profile) >= 8 &&
    ((profile & HAS_PLUS) !== 0 || (digitCount(profile) >= 10 && (profile & (HAS_DASH | HAS_PAREN | HAS_SPACE | HAS_DOT)) !== 0)),
  find(text) {
    const out: DetectorMatch[] = [];
    if (text.includes('+')) {
      E164_CANDIDATE.lastIndex = 0;
      for (let m = E164_CANDIDATE.exec(text); m !== null; m = E164_CANDIDATE.exec(text)) {
        const end = e164End(text, m.index, m.index + m[0].length);
        if (end > 0) out.push({ detector: 'phone', start: m.index, end });
      }
    }
    NANP.lastIndex = 0;
    for (let m = NANP.exec(text); m !== null; m = NANP.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (out.some((p) => p.start < end && start < p.end)) continue;
      out.push({ detector: 'phone', start, end });
    }
    if (out.length > 1) out.sort((a, b) => a.start - b.start);
    return out;
  },
};

// The end of a well-formed E.164 number in [start, limit), or -1. Stops at the first
// separator that breaks the structure and keeps what came before it.
function e164End(text: string, start: number, limit: number): number {
  let digits = 0;
  let depth = 0;
  let prevSep = false;
  let lastGoodEnd = -1;
  let lastGoodDigits = 0;
  for (let i = start + 1; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      prevSep = false;
      if (depth === 0) {
        lastGoodEnd = i + 1;
        lastGoodDigits = digits;
      }
    } else if (c === 32 || c === 45) {
      if (prevSep || depth > 0) break;
      prevSep = true;
    } else if (c === 40) {
      if (depth > 0 || text.charCodeAt(i + 1) < 48 || text.charCodeAt(i + 1) > 57) break;
      depth = 1;
      prevSep = false;
    } else if (c === 41) {
      if (depth !== 1 || prevSep) break;
      depth = 0;
      prevSep = false;
    } else break;
  }
  if (lastGoodDigits < 8 || lastGoodDigits > 15) return -1;
  const next = text.charCodeAt(lastGoodEnd);
  if (next >= 48 && next <= 57) return -1;
  return lastGoodEnd;
}
