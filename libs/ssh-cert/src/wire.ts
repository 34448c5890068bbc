// The SSH data types certificates are made of (RFC 4251 section 5), for a whole blob in memory:
//   uint32  4 bytes, big-endian
//   uint64  8 bytes, big-endian
//   string  uint32 length, then that many bytes (no terminator)
// The reader never reads past its end: a length that overruns is a malformed value, reported
// through the `fail` the caller gives (each caller has its own error code).

/** Builds a blob from SSH data types. */
export class WireWriter {
  private readonly parts: Buffer[] = [];

  uint32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.parts.push(b);
    return this;
  }

  uint64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(value);
    this.parts.push(b);
    return this;
  }

  /** A string of bytes, or of UTF-8 text. */
  string(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.uint32(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads SSH data types from a blob; `fail(reason)` must throw. */
export class WireReader {
  private offset = 0;

  constructor(
    private readonly data: Buffer,
    private readonly fail: (reason: string) => never,
  ) {}

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  uint32(what: string): number {
    if (this.remaining < 4) this.fail(`${what}: truncated`);
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(what: string): bigint {
    if (this.remaining < 8) this.fail(`${what}: truncated`);
    const value = this.data.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  string(what: string): Buffer {
    const length = this.uint32(what);
    if (length > this.remaining) this.fail(`${what}: length ${length} overruns the data`);
    const value = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /**
   * A string read as text. OpenSSH reads these as C strings, so an embedded NUL is refused
   * (it would end the name early there); so is invalid UTF-8, which two readers could decode
   * to different names.
   */
  text(what: string): string {
    const bytes = this.string(what);
    if (bytes.includes(0)) this.fail(`${what}: contains a NUL byte`);
    try {
      return UTF8.decode(bytes);
    } catch {
      return this.fail(`${what}: not valid UTF-8`);
    }
  }

  /** Refuses trailing bytes. */
  end(what: string): void {
    if (this.remaining !== 0) this.fail(`${what}: ${this.remaining} trailing byte(s)`);
  }
}
