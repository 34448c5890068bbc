// What happens to a sensitive value: redact, partial, null, tokenize. Pure functions; the
// tokenizer's only input besides the value is the key it was built with.
import { Buffer } from 'node:buffer';
import { type KeyObject, createHmac, createSecretKey } from 'node:crypto';
import { isCardNumber, isIban, ibanCheckDigits, luhnCheckDigit } from './checksums.js';
import type { DetectorName } from './types.js';

/** The redaction marker's format: `[REDACTED:<label>]`, label = detector name, or `column` for a column rule. */
export const REDACTION_MARKER_FORMAT = '[REDACTED:<label>]';

/** The redaction marker for `label` (see `REDACTION_MARKER_FORMAT`). */
export function redactionMarker(label: string): string {
  return `[REDACTED:${label}]`;
}

/** Default number of trailing characters `partial` keeps. */
export const DEFAULT_PARTIAL_KEEP = 4;

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;

function isAlnum(ch: string): boolean {
  const c = ch.charCodeAt(0);
  // ASCII, the common case, without the regular expression.
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return LETTER_OR_DIGIT.test(ch);
}

/**
 * Masks every letter and digit of `value` with `*` except the last `keep` of them, keeping
 * separators in place: `4111 1111 1111 1111` -> `**** **** **** 1111`. At most half of the
 * letters and digits are kept (rounded down), so a short value is never shown whole.
 */
export function partialMask(value: string, keep: number = DEFAULT_PARTIAL_KEEP): string {
  if (isAscii(value)) return partialMaskAscii(value, keep);
  const chars = Array.from(value);
  let alnums = 0;
  for (const ch of chars) if (isAlnum(ch)) alnums++;
  let toMask = alnums - shownCount(alnums, keep);
  let out = '';
  for (const ch of chars) {
    if (toMask > 0 && isAlnum(ch)) {
      out += '*';
      toMask--;
    } else out += ch;
  }
  return out;
}

function shownCount(alnums: number, keep: number): number {
  return Math.min(Math.max(0, Math.floor(keep)), Math.floor(alnums / 2));
}

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 127) return false;
  return true;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** partialMask of an ASCII value: one character per code unit, no array of characters. */
function partialMaskAscii(value: string, keep: number): string {
  let alnums = 0;
  for (let i = 0; i < value.length; i++) if (isAsciiAlnum(value.charCodeAt(i))) alnums++;
  let toMask = alnums - shownCount(alnums, keep);
  let out = '';
  let copied = 0;
  for (let i = 0; i < value.length && toMask > 0; i++) {
    if (!isAsciiAlnum(value.charCodeAt(i))) continue;
    out += `${value.slice(copied, i)}*`;
    copied = i + 1;
    toMask--;
  }
  return out + value.slice(copied);
}

/**
 * partialMask of a value given as UTF-8 bytes, done on the bytes when they are all ASCII (a
 * copy, never the input); undefined when they are not, for the caller to decode and use
 * partialMask. Same result as partialMask on the decoded text.
 */
export function partialMaskAsciiBytes(bytes: Uint8Array, keep: number = DEFAULT_PARTIAL_KEEP): Buffer | undefined {
  const out = Buffer.from(bytes);
  return partialMaskAsciiInPlace(out, 0, out.length, keep) ? out : undefined;
}

/**
 * partialMask of the UTF-8 bytes `bytes[from, to)`, written over them, when they are all ASCII
 * (the masked text has the same length); false, the bytes untouched, when they are not. Lets a
 * caller copy a value to where it goes and mask it there.
 */
export function partialMaskAsciiInPlace(bytes: Uint8Array, from: number, to: number, keep: number = DEFAULT_PARTIAL_KEEP): boolean {
  let alnums = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if (c > 127) return false;
    if (isAsciiAlnum(c)) alnums++;
  }
  let toMask = alnums - shownCount(alnums, keep);
  for (let i = from; i < to && toMask > 0; i++) {
    if (isAsciiAlnum(bytes[i]!)) {
      bytes[i] = 0x2a; // '*'
      toMask--;
    }
  }
  return true;
}

/** A tokenization key: the id may appear in operator views, the secret never leaves the process. */
export interface MaskingKey {
  readonly id: string;
  readonly secret: Uint8Array;
}

/**
 * Keys for tokenization. Tokens are always made with `current`; `previous` keys are kept so a
 * caller can compute the tokens an older export used (`tokenizeUnderEveryKey`). Rotating the
 * current key changes every token: joins on tokens hold only among values tokenized under one key.
 */
export interface MaskingKeyRing {
  readonly current: MaskingKey;
  readonly previous?: readonly MaskingKey[];
}

/**
 * The shape a token keeps:
 * - `card`: same digit count and separators, digits only, passes Luhn, starts with `99`
 *   (ISO/IEC 7812 major industry identifier 9, national use: no card brand, so a token is never
 *   mistaken for, or re-detected as, a real card);
 * - `iban`: same country and length, letters and digits in the same positions, valid mod-97
 *   check digits, same spacing;
 * - `email`: `tok_<16 hex>@d<12 hex>.invalid`: the local part from the whole address, the domain
 *   from the lower-cased domain (so equal domains still group), under the reserved `.invalid` TLD;
 * - `us-ssn`: `9GG-GG-SSSS` shaped like the input (same separator) with area 900-999 and group
 *   01-49: never issued as an SSN nor an ITIN, so a token can never be a real person's number;
 * - `digits`: values of digits and `+ ( ) - . space` (phone numbers, numeric ids) keep every
 *   non-digit in place and their digit count; a leading non-zero digit stays non-zero;
 * - `opaque`: `tok_<24 hex>` (96 bits of the HMAC).
 */
export type TokenFormat = 'card' | 'iban' | 'email' | 'us-ssn' | 'digits' | 'opaque';

const EMAIL_SHAPE = /^[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}$/;
const SSN_SHAPE = /^[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}$/;
const DIGITS_SHAPE = /^[+(]?[0-9][0-9 ().+-]*$/;

/**
 * The token format for a whole value, by its shape, tried in this order: card, us-ssn, iban,
 * email, digits, opaque. A detector's span and a column's cell holding the same string get the
 * same format, hence the same token.
 */
export function tokenFormatOf(value: string): TokenFormat {
  if (value.length >= 13 && value.length <= 23 && /^[0-9][0-9 -]+[0-9]$/.test(value) && isCardNumber(value.replace(/[ -]/g, '')))
    return 'card';
  if (SSN_SHAPE.test(value)) return 'us-ssn';
  if (value.length >= 15 && isIban(value.replace(/ /g, ''))) return 'iban';
  if (EMAIL_SHAPE.test(value)) return 'email';
  if (DIGITS_SHAPE.test(value)) return 'digits';
  return 'opaque';
}

/** The token format of a detector's matches (`infer`: decide by the value's shape). */
export function tokenFormatForDetector(name: DetectorName): TokenFormat {
  switch (name) {
    case 'card':
    case 'iban':
    case 'email':
    case 'us-ssn':
      return name;
    case 'phone':
      return 'digits';
    default:
      return 'opaque';
  }
}

/** A keyed, deterministic tokenizer: same key and value give the same token. */
export interface Tokenizer {
  readonly keyId: string;
  /** The token of `value` in `format` (default: `tokenFormatOf(value)`). */
  tokenize(value: string, format?: TokenFormat): string;
}

/** Minimum secret length: an HMAC-SHA256 key shorter than 16 bytes is guessable. */
export const MIN_KEY_BYTES = 16;

/** A tokenizer on `key` (HMAC-SHA256); throws RangeError for a secret shorter than 16 bytes. */
export function createTokenizer(key: MaskingKey): Tokenizer {
  if (key.secret.byteLength < MIN_KEY_BYTES)
    throw new RangeError(`masking key ${key.id}: the secret needs at least ${MIN_KEY_BYTES} bytes`);
  const keyObject = createSecretKey(Buffer.from(key.secret));
  return {
    keyId: key.id,
    tokenize: (value, format) => tokenizeWith(keyObject, value, format ?? tokenFormatOf(value)),
  };
}

/** The token of `value` under every key of `ring`, current first, for looking up older exports. */
export function tokenizeUnderEveryKey(value: string, ring: MaskingKeyRing, format?: TokenFormat): { keyId: string; token: string }[] {
  return [ring.current, ...(ring.previous ?? [])].map((k) => ({ keyId: k.id, token: createTokenizer(k).tokenize(value, format) }));
}

// The format is part of the MAC input, so one value tokenized in two formats gives unrelated tokens.
function mac(key: KeyObject, format: string, canonical: string, counter = 0): Buffer {
  return createHmac('sha256', key).update(`${format}\u0000${counter}\u0000`).update(canonical, 'utf8').digest();
}

// `n` bytes of MAC output (counter mode beyond 32 bytes).
function macBytes(key: KeyObject, format: string, canonical: string, n: number): Buffer {
  const first = mac(key, format, canonical);
  if (n <= first.length) return first;
  const parts = [first];
  for (let c = 1, have = first.length; have < n; c++, have += 32) parts.push(mac(key, format, canonical, c));
  return Buffer.concat(parts);
}

// Decimal digits from MAC bytes: each byte below 250 gives one unbiased digit.
function macDigits(key: KeyObject, format: string, canonical: string, n: number): string {
  let out = '';
  for (let c = 0; out.length < n; c++) {
    const bytes = mac(key, format, canonical, c);
    for (const b of bytes) {
      if (b < 250) out += String(b % 10);
      if (out.length === n) break;
    }
  }
  return out;
}

// Puts `digits` into the digit positions of `shape`, keeping every other character.
function intoDigitPositions(shape: string, digits: string): string {
  let k = 0;
  let out = '';
  for (const ch of shape) {
    if (ch >= '0' && ch <= '9') out += digits[k++] ?? '0';
    else out += ch;
  }
  return out;
}

function tokenizeWith(key: KeyObject, value: string, format: TokenFormat): string {
  switch (format) {
    case 'card': {
      const digits = value.replace(/[^0-9]/g, '');
      if (digits.length < 13) return tokenizeWith(key, value, 'digits');
      const payload = `99${macDigits(key, 'card', digits, digits.length - 3)}`;
      return intoDigitPositions(value, `${payload}${luhnCheckDigit(payload)}`);
    }
    case 'iban': {
      const compact = value.replace(/ /g, '').toUpperCase();
      if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(compact)) return tokenizeWith(key, value, 'opaque');
      const country = compact.slice(0, 2);
      const bban = compact.slice(4);
      const bytes = macBytes(key, 'iban', compact, bban.length);
      let tokenBban = '';
      for (let i = 0; i < bban.length; i++) {
        const b = bytes[i]!;
        const c = bban.charCodeAt(i);
        tokenBban += c >= 48 && c <= 57 ? String(b % 10) : String.fromCharCode(65 + (b % 26));
      }
      const iban = `${country}${ibanCheckDigits(country, tokenBban)}${tokenBban}`;
      return value.includes(' ') ? iban.replace(/(.{4})(?=.)/g, '$1 ') : iban;
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at < 1) return tokenizeWith(key, value, 'opaque');
      const domain = value.slice(at + 1).toLowerCase();
      const canonical = `${value.slice(0, at)}@${domain}`;
      return `tok_${mac(key, 'email', canonical).toString('hex', 0, 8)}@d${mac(key, 'email-domain', domain).toString('hex', 0, 6)}.invalid`;
    }
    case 'us-ssn': {
      const digits = value.replace(/[^0-9]/g, '');
      const sep = value.includes('-') ? '-' : ' ';
      const b = mac(key, 'us-ssn', digits);
      const area = `9${String(b[0]! % 100).padStart(2, '0')}`;
      const group = String((b[1]! % 49) + 1).padStart(2, '0');
      const serial = String((b.readUInt16BE(2) % 9999) + 1).padStart(4, '0');
      return `${area}${sep}${group}${sep}${serial}`;
    }
    case 'digits': {
      const digits = value.replace(/[^0-9]/g, '');
      if (digits.length === 0) return tokenizeWith(key, value, 'opaque');
      let t = macDigits(key, 'digits', digits, digits.length);
      if (digits[0] !== '0' && t[0] === '0') t = `${1 + (mac(key, 'digits-lead', digits)[0]! % 9)}${t.slice(1)}`;
      return intoDigitPositions(value, t);
    }
    case 'opaque':
      return `tok_${mac(key, 'opaque', value).toString('hex', 0, 12)}`;
    default: {
      const never: never = format;
      throw new TypeError(`unknown token format ${String(never)}`);
    }
  }
}
