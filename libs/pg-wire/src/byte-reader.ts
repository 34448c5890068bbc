// Bounds-checked reads of the PostgreSQL wire primitives ("Message Data Types"):
//   Int16, Int32   big-endian integers
//   String         NUL-terminated, no embedded NUL
//   Byte(n)        exactly n bytes
// Every read that would run past `end` throws AG_ERR_PROTOCOL_VIOLATION, so decoders
// never see a partial value.
import { protocolViolation } from './protocol-error.js';

// fatal: invalid UTF-8 becomes an error instead of U+FFFD, so the text a policy inspects
// is exactly the text the server receives. ignoreBOM: a leading U+FEFF is kept, not eaten.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly; throws AG_ERR_PROTOCOL_VIOLATION on invalid sequences. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw protocolViolation(`${what} is not valid UTF-8`);
  }
}

/** Sequential reader over `buf[start, end)` that throws AG_ERR_PROTOCOL_VIOLATION instead of reading out of bounds. */
export class ByteReader {
  readonly #buf: Buffer;
  readonly #end: number;
  #offset: number;
  readonly #what: string;

  constructor(buf: Buffer, what: string, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#offset = start;
    this.#end = end;
    this.#what = what;
  }

  /** Bytes left before the end of the message. */
  get remaining(): number {
    return this.#end - this.#offset;
  }

  #need(n: number, field: string): void {
    if (n > this.remaining) throw protocolViolation(`${this.#what}: truncated ${field}`);
  }

  byte(field: string): number {
    this.#need(1, field);
    return this.#buf[this.#offset++] as number;
  }

  int16(field: string): number {
    this.#need(2, field);
    const v = this.#buf.readInt16BE(this.#offset);
    this.#offset += 2;
    return v;
  }

  uint16(field: string): number {
    this.#need(2, field);
    const v = this.#buf.readUInt16BE(this.#offset);
    this.#offset += 2;
    return v;
  }

  int32(field: string): number {
    this.#need(4, field);
    const v = this.#buf.readInt32BE(this.#offset);
    this.#offset += 4;
    return v;
  }

  uint32(field: string): number {
    this.#need(4, field);
    const v = this.#buf.readUInt32BE(this.#offset);
    this.#offset += 4;
    return v;
  }

  /** A copy of the next n bytes, so the result never aliases a reused buffer. */
  bytes(n: number, field: string): Buffer {
    if (n < 0) throw protocolViolation(`${this.#what}: negative length for ${field}`);
    this.#need(n, field);
    const out = Buffer.from(this.#buf.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    return out;
  }

  /** Everything up to the end of the message. */
  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }

  /** A NUL-terminated UTF-8 string; the terminator must lie inside the message. */
  cstring(field: string): string {
    const nul = this.#buf.indexOf(0, this.#offset);
    if (nul === -1 || nul >= this.#end) throw protocolViolation(`${this.#what}: unterminated string in ${field}`);
    const s = decodeUtf8(this.#buf.subarray(this.#offset, nul), `${this.#what} ${field}`);
    this.#offset = nul + 1;
    return s;
  }

  /** Rejects trailing bytes, as the server's pq_getmsgend does. */
  end(): void {
    if (this.remaining !== 0) throw protocolViolation(`${this.#what}: ${this.remaining} unexpected trailing bytes`);
  }
}
