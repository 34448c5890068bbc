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

// One character code into a profile: a flag set, or a count raised unless already at the cap.
function add(profile: number, c: number): number {
  if (c >= 48 && c <= 57) return ((profile >>> DIGITS_SHIFT) & CAP) === CAP ? profile : profile + (1 << DIGITS_SHIFT);
  if (c >= 97 && c <= 122) return ((profile >>> LOWER_SHIFT) & CAP) === CAP ? profile : profile + (1 << LOWER_SHIFT);
  if (c >= 65 && c <= 90) return ((profile >>> UPPER_SHIFT) & CAP) === CAP ? profile : profile + (1 << UPPER_SHIFT);
  switch (c) {
    case 32:
      return profile | HAS_SPACE;
    case 46:
      return profile | HAS_DOT;
    case 45:
      return profile | HAS_DASH;
    case 58:
      return profile | (profile & HAS_COLON ? HAS_TWO_COLONS : HAS_COLON);
    case 64:
      return profile | HAS_AT;
    case 95:
      return profile | HAS_UNDERSCORE;
    case 61:
      return profile | HAS_EQUALS;
    case 47:
      return profile | HAS_SLASH;
    case 43:
      return profile | HAS_PLUS;
    case 40:
      return profile | HAS_PAREN;
    default:
      return profile;
  }
}

/** The profile of `text` (flags in the low bits, capped counts above them). */
export function textProfile(text: string): number {
  let profile = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) profile = add(profile, text.charCodeAt(i));
  return profile;
}

/**
 * The profile of the text that the UTF-8 bytes `bytes[from, to)` hold, when they are all ASCII
 * (then the text's length is `to - from`); -1 at the first other byte. Lets a caller skip
 * decoding a cell that no detector can match.
 */
export function asciiProfile(bytes: Uint8Array, from: number, to: number): number {
  let profile = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c > 127) return -1;
    profile = add(profile, c);
  }
  return profile;
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
