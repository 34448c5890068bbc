// Accumulates socket chunks until whole frames are available. Wire fact: a frame may be
// split across any number of TCP reads, and one read may carry many frames.

const EMPTY = Buffer.alloc(0);
// Above this capacity an emptied buffer is released rather than kept for reuse, so one
// large message does not pin its memory for the life of the connection.
const RETAIN_LIMIT = 64 * 1024;

/** Growable byte queue: append at the end, consume from the front, amortised O(1) per byte. */
export class FrameBuffer {
  #buf: Buffer = EMPTY;
  #start = 0;
  #end = 0;

  /** Bytes buffered and not yet consumed. */
  get length(): number {
    return this.#end - this.#start;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const live = this.length;
    if (this.#end + chunk.length > this.#buf.length) {
      const needed = live + chunk.length;
      if (needed > this.#buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(needed, this.#buf.length * 2, 256));
        this.#buf.copy(grown, 0, this.#start, this.#end);
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Byte at offset i from the front; caller checks i < length. */
  byteAt(i: number): number {
    return this.#buf[this.#start + i] as number;
  }

  /** Signed big-endian Int32 at offset i from the front; caller checks i + 4 <= length. */
  int32At(i: number): number {
    return this.#buf.readInt32BE(this.#start + i);
  }

  /** Removes and returns the first n bytes as an independent copy. */
  take(n: number): Buffer {
    const out = Buffer.from(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    if (this.#start === this.#end) this.clear();
    return out;
  }

  clear(): void {
    this.#start = 0;
    this.#end = 0;
    if (this.#buf.length > RETAIN_LIMIT) this.#buf = EMPTY;
  }
}
