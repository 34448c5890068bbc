// A text's profile packs, into one small integer, which punctuation it contains and how many
// digits, upper-case and lower-case ASCII letters (each count capped at 63). One pass over the
// characters and no allocation: detectors gate their searches on it.

/** The text contains '@'. */
export const HAS_AT = 1 << 0;
/** The text contains ':'. */
export const HAS_COLON = 1 << 1;
/** The text contains at least two ':'. */
export const HAS_TWO_COLONS = 1 << 2;
/** The text contains '.'. */
export const HAS_DOT = 1 << 3;
/** The text contains '-'. */
export const HAS_DASH = 1 << 4;
/** The text contains '+'. */
export const HAS_PLUS = 1 << 5;
/** The text contains '='. */
export const HAS_EQUALS = 1 << 6;
/** The text contains '/'. */
export const HAS_SLASH = 1 << 7;
/** The text contains '_'. */
export const HAS_UNDERSCORE = 1 << 8;
/** The text contains '('. */
export const HAS_PAREN = 1 << 9;
/** The text contains a space. */
export const HAS_SPACE = 1 << 10;

const DIGITS_SHIFT = 13;
const UPPER_SHIFT = 19;
const LOWER_SHIFT = 25;
const CAP = 63;

// Per ASCII code, its class: the flag bit it sets, or one of the counted kinds below. One table
// lookup per character instead of a chain of range tests and a switch (the profile runs on every
// free-text cell of a masked result).
const DIGIT = -1;
const UPPER = -2;
const LOWER = -3;
const COLON = -4;
const CLASS = new Int16Array(128);
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT;
for (let c = 65; c <= 90; c++) CLASS[c] = UPPER;
for (let c = 97; c <= 122; c++) CLASS[c] = LOWER;
CLASS[58] = COLON;
CLASS[32] = HAS_SPACE;
CLASS[46] = HAS_DOT;
CLASS[45] = HAS_DASH;
CLASS[64] = HAS_AT;
CLASS[95] = HAS_UNDERSCORE;
CLASS[61] = HAS_EQUALS;
CLASS[47] = HAS_SLASH;
CLASS[43] = HAS_PLUS;
CLASS[40] = HAS_PAREN;

/** Counts and flags, packed: counts capped at the field's width. */
function pack(flags: number, colons: number, digits: number, upper: number, lower: number): number {
  if (colons > 0) flags |= colons > 1 ? HAS_COLON | HAS_TWO_COLONS : HAS_COLON;
  return (
    flags + (Math.min(digits, CAP) << DIGITS_SHIFT) + (Math.min(upper, CAP) << UPPER_SHIFT) + Math.min(lower, CAP) * (1 << LOWER_SHIFT)
  );
}

// textProfile and asciiProfile repeat their loop body on purpose: the counters stay local
// variables. Shared through module state and a counting function, asciiProfile ran over twice as
// slow in a scratch micro-benchmark (not kept in the repo).

/** The profile of `text` (flags in the low bits, capped counts above them); characters beyond ASCII count for nothing. */
export function textProfile(text: string): number {
  let flags = 0;
  let colons = 0;
  let digits = 0;
  let upper = 0;
  let lower = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) continue;
    const k = CLASS[c]!;
    if (k > 0) flags |= k;
    else if (k === LOWER) lower++;
    else if (k === DIGIT) digits++;
    else if (k === UPPER) upper++;
    else if (k === COLON) colons++;
  }
  return pack(flags, colons, digits, upper, lower);
}

/**
 * The profile of the text that the UTF-8 bytes `bytes[from, to)` hold, when they are all ASCII
 * (then the text's length is `to - from`); -1 at the first other byte. Lets a caller skip
 * decoding a cell that no detector can match.
 */
export function asciiProfile(bytes: Uint8Array, from: number, to: number): number {
  let flags = 0;
  let colons = 0;
  let digits = 0;
  let upper = 0;
  let lower = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c > 127) return -1;
    const k = CLASS[c]!;
    if (k > 0) flags |= k;
    else if (k === LOWER) lower++;
    else if (k === DIGIT) digits++;
    else if (k === UPPER) upper++;
    else if (k === COLON) colons++;
  }
  return pack(flags, colons, digits, upper, lower);
}

/** Number of ASCII digits in the profiled text, capped at 63. */
export function digitCount(profile: number): number {
  return (profile >>> DIGITS_SHIFT) & CAP;
}

/** Number of ASCII upper-case letters in the profiled text, capped at 63. */
export function upperCount(profile: number): number {
  return (profile >>> UPPER_SHIFT) & CAP;
}

/** Number of ASCII lower-case letters in the profiled text, capped at 63. */
export function lowerCount(profile: number): number {
  return (profile >>> LOWER_SHIFT) & CAP;
}
