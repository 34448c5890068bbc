// Payment cards and IBANs: a number only counts when its check digits and its issuer
// structure (card brand prefix and length; IBAN country length) agree.
import { IBAN_LENGTHS, ibanRemainder, isCardNumber } from '../checksums.js';
import { digitCount, upperCount } from '../text-profile.js';
import type { Detector, DetectorMatch } from '../types.js';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Card numbers, 13-19 digits, plain or in groups of 3-6 digits joined by one space or one dash
 * (the same separator throughout). A run of digit groups is split into the longest valid window
 * first, so `4111 1111 1111 1111 2024` still finds the card and a 20-digit id finds nothing.
 * Digits directly after `<digit>.` or before `.<digit>` are decimals, not cards, and digits
 * touching a letter or `_` are part of a word (a hex digest, a UUID, an identifier), not a card.
 */
export const cardDetector: Detector = {
  name: 'card',
  mayMatch: (profile) => digitCount(profile) >= 13,
  find(text) {
    const out: DetectorMatch[] = [];
    const n = text.length;
    let i = 0;
    // group boundaries of the current run: starts[k], ends[k] for k < groups. Overwritten from run
    // to run, not emptied: emptying an array drops its storage, and base64 or hex text has a
    // short digit run every few characters (a PEM key's scan took most of a row's masking).
    const starts: number[] = [];
    const ends: number[] = [];
    while (i < n) {
      if (!isDigit(text.charCodeAt(i))) {
        i++;
        continue;
      }
      let groups = 0;
      let runDigits = 0;
      let sep = 0;
      let groupStart = i;
      let j = i;
      for (;;) {
        while (j < n && isDigit(text.charCodeAt(j))) j++;
        runDigits += j - groupStart;
        starts[groups] = groupStart;
        ends[groups] = j;
        groups++;
        const c = text.charCodeAt(j);
        if (j + 1 < n && (c === 32 || c === 45) && (sep === 0 || sep === c) && isDigit(text.charCodeAt(j + 1))) {
          sep = c;
          groupStart = j + 1;
          j += 1;
          continue;
        }
        break;
      }
      const runStart = i;
      const runEnd = j;
      i = j;
      if (runDigits < 13) continue;
      if (isDecimalEdge(text, runStart, runEnd)) continue;
      // A first or last group touching a letter belongs to a word, not to a card.
      const lo = isWordChar(text.charCodeAt(runStart - 1)) ? 1 : 0;
      const hi = isWordChar(text.charCodeAt(runEnd)) ? groups - 1 : groups;
      if (lo >= hi) continue;
      pickWindows(text, starts, ends, lo, hi, out);
    }
    if (out.length > 1) out.sort((a, b) => a.start - b.start);
    return out;
  },
};

function isWordChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDecimalEdge(text: string, start: number, end: number): boolean {
  const before = text.charCodeAt(start - 1);
  if ((before === 46 || before === 44) && isDigit(text.charCodeAt(start - 2))) return true;
  const after = text.charCodeAt(end);
  return (after === 46 || after === 44) && isDigit(text.charCodeAt(end + 1));
}

// Finds the longest (then earliest) valid card window among groups [lo, hi), then recurses on
// the groups left and right of it. A window of several groups needs every group 3-6 digits long.
function pickWindows(text: string, starts: number[], ends: number[], lo: number, hi: number, out: DetectorMatch[]): void {
  let bestA = -1;
  let bestB = -1;
  let bestDigits = 0;
  for (let a = lo; a < hi; a++) {
    const lenA = ends[a]! - starts[a]!;
    let digits = 0;
    for (let b = a; b < hi; b++) {
      const len = ends[b]! - starts[b]!;
      digits += len;
      if (digits > 19) break;
      if (b > a && (len < 3 || len > 6 || lenA < 3 || lenA > 6)) break;
      if (digits < 13 || digits <= bestDigits) continue;
      const raw = text.slice(starts[a]!, ends[b]!);
      if (isCardNumber(b === a ? raw : raw.replace(/[ -]/g, ''))) {
        bestA = a;
        bestB = b;
        bestDigits = digits;
      }
    }
  }
  if (bestA < 0) return;
  out.push({ detector: 'card', start: starts[bestA]!, end: ends[bestB]! });
  if (bestA > lo) pickWindows(text, starts, ends, lo, bestA, out);
  if (bestB + 1 < hi) pickWindows(text, starts, ends, bestB + 1, hi, out);
}

// Country code, check digits, then 11-32 alphanumerics with single spaces allowed between them;
// the exact length and the grouping are checked in code.
const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}/g;

/**
 * IBANs (ISO 13616): a listed country, its exact length, mod-97 == 1, written compact or in
 * groups of four separated by single spaces. Upper case only.
 */
export const ibanDetector: Detector = {
  name: 'iban',
  mayMatch: (profile, length) => upperCount(profile) >= 2 && digitCount(profile) >= 6 && length >= 15,
  find(text) {
    const out: DetectorMatch[] = [];
    IBAN_CANDIDATE.lastIndex = 0;
    for (let m = IBAN_CANDIDATE.exec(text); m !== null; m = IBAN_CANDIDATE.exec(text)) {
      const start = m.index;
      const end = ibanEnd(text, start, start + m[0].length);
      if (end > 0) {
        out.push({ detector: 'iban', start, end });
        IBAN_CANDIDATE.lastIndex = end;
      } else {
        IBAN_CANDIDATE.lastIndex = start + 1;
      }
    }
    return out;
  },
};

// The end of a valid IBAN starting at `start` within the candidate [start, limit), or -1.
function ibanEnd(text: string, start: number, limit: number): number {
  const expected = IBAN_LENGTHS[text.slice(start, start + 2)];
  if (expected === undefined) return -1;
  let compact = '';
  let spaced = false;
  let i = start;
  for (; i < limit && compact.length < expected; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) {
      // a space is only allowed after every fourth character, and only one
      if (compact.length % 4 !== 0 || compact.length === 0 || text.charCodeAt(i - 1) === 32) return -1;
      if (compact.length === 4) spaced = true;
      else if (!spaced) return -1;
      continue;
    }
    if (spaced && compact.length > 0 && compact.length % 4 === 0 && text.charCodeAt(i - 1) !== 32) return -1;
    compact += text[i];
  }
  if (compact.length !== expected) return -1;
  const next = text.charCodeAt(i);
  if ((next >= 48 && next <= 57) || (next >= 65 && next <= 90) || (next >= 97 && next <= 122)) return -1;
  return ibanRemainder(compact) === 1 ? i : -1;
}
