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

/** The profile of `text` (flags in the low bits, capped counts above them). */
export function textProfile(text: string): number {
  let flags = 0;
  let digits = 0;
  let upper = 0;
  let lower = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 97 && c <= 122) lower++;
    else if (c >= 65 && c <= 90) upper++;
    else if (c === 32) flags |= HAS_SPACE;
    else if (c === 46) flags |= HAS_DOT;
    else if (c === 45) flags |= HAS_DASH;
    else if (c === 58) flags |= flags & HAS_COLON ? HAS_TWO_COLONS : HAS_COLON;
    else if (c === 64) flags |= HAS_AT;
    else if (c === 95) flags |= HAS_UNDERSCORE;
    else if (c === 61) flags |= HAS_EQUALS;
    else if (c === 47) flags |= HAS_SLASH;
    else if (c === 43) flags |= HAS_PLUS;
    else if (c === 40) flags |= HAS_PAREN;
  }
  return flags | (Math.min(digits, CAP) << DIGITS_SHIFT) | (Math.min(upper, CAP) << UPPER_SHIFT) | (Math.min(lower, CAP) << LOWER_SHIFT);
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
