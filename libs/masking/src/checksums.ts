// Check-digit arithmetic shared by the detectors (validation) and the tokenizer (generation).

/** True when `digits` (ASCII digits only) passes the Luhn (mod 10) check. */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** The Luhn check digit to append to `payload` (ASCII digits only). */
export function luhnCheckDigit(payload: string): number {
  let sum = 0;
  let double = true;
  for (let i = payload.length - 1; i >= 0; i--) {
    let d = payload.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/** A payment card brand recognised by its IIN prefix and length. */
export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay';

/** The brand whose prefix and length `digits` has, or undefined (no brand: not a card). */
export function cardBrand(digits: string): CardBrand | undefined {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  if (digits.charCodeAt(0) === 52) return n === 13 || n === 16 || n === 19 ? 'visa' : undefined;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16 ? 'mastercard' : undefined;
  if (p2 === 34 || p2 === 37) return n === 15 ? 'amex' : undefined;
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return n >= 16 && n <= 19 ? 'discover' : undefined;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19 ? 'jcb' : undefined;
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38) return n >= 14 && n <= 19 ? 'diners' : undefined;
  if (p2 === 62) return n >= 16 && n <= 19 ? 'unionpay' : undefined;
  return undefined;
}

/** True when `digits` is a card number: Luhn valid and a known brand's prefix and length. */
export function isCardNumber(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && cardBrand(digits) !== undefined && luhnValid(digits);
}

/**
 * IBAN lengths by country (ISO 13616 registry): every SEPA country plus a few common others.
 * A country not listed is not detected.
 */
// biome-ignore format: a table reads better in rows
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24, FI: 18,
  FR: 27, GB: 22, GI: 23, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MT: 31, NL: 18, NO: 15, PL: 28, PT: 25, RO: 24, SE: 24, SI: 19, SK: 24, SM: 27,
  VA: 22, AE: 23, BA: 20, BH: 22, BR: 29, GE: 22, IL: 23, JO: 30, KW: 30, KZ: 20, LB: 28, ME: 22,
  MK: 19, PK: 24, QA: 29, RS: 22, SA: 24, TR: 26, UA: 29, XK: 20,
};

/**
 * The ISO 7064 mod-97 remainder of a compact IBAN (check digits included) after moving the first
 * four characters to the end and letters to 10..35; -1 on a character outside [0-9A-Z].
 */
export function ibanRemainder(compact: string): number {
  const n = compact.length;
  let r = 0;
  for (let k = 0; k < n; k++) {
    const c = compact.charCodeAt((k + 4) % n);
    if (c >= 48 && c <= 57) r = (r * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) r = (r * 100 + (c - 55)) % 97;
    else return -1;
  }
  return r;
}

/** True when `compact` (no spaces, upper case) is an IBAN of a listed country with valid check digits. */
export function isIban(compact: string): boolean {
  if (compact.length < 5) return false;
  const expected = IBAN_LENGTHS[compact.slice(0, 2)];
  return expected === compact.length && ibanRemainder(compact) === 1;
}

/** The two check digits for `country` + `bban`, so that the IBAN's remainder is 1. */
export function ibanCheckDigits(country: string, bban: string): string {
  const r = ibanRemainder(`${country}00${bban}`);
  return String(98 - r).padStart(2, '0');
}
