// The digest of one SFTP handle's reads or writes. Clients pipeline (OpenSSH keeps up to 64
// reads or writes in flight), so chunks complete out of offset order; a short reorder buffer
// puts them back. When the chunks tile the file from offset 0 without gap or overlap, the
// digest is over the bytes in offset order (it equals sha256sum of what was transferred) and
// the stream is named `read` / `written`; otherwise it is over the chunks in arrival order and
// named `read-unordered` / `written-unordered`, so nobody compares it with a file digest.
import { createHash, type Hash } from 'node:crypto';
import type { StreamDigest } from '@agentgate/events';

/** Bytes held back waiting for a gap to fill before the handle is declared unordered. */
export const DEFAULT_MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** SHA-256 of one chunk, as the per-request `data` stream. */
export function chunkDigest(chunk: Buffer): StreamDigest {
  return { name: 'data', bytes: chunk.length, sha256: createHash('sha256').update(chunk).digest('hex') };
}

/** Accumulates a handle's chunks (offset, bytes) into one StreamDigest. */
export class HandleDigest {
  private readonly arrival: Hash = createHash('sha256');
  private readonly ordered: Hash = createHash('sha256');
  private inOrder = true;
  private nextOffset = 0;
  private readonly pending = new Map<number, Buffer>();
  private pendingBytes = 0;
  private total = 0;

  constructor(
    private readonly name: 'read' | 'written',
    private readonly maxPendingBytes: number = DEFAULT_MAX_PENDING_BYTES,
  ) {}

  /** Adds a chunk the peer confirmed; empty chunks (EOF) change nothing. */
  add(offset: number, chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.arrival.update(chunk);
    this.total += chunk.length;
    if (!this.inOrder) return;
    if (offset === this.nextOffset) {
      this.consume(chunk);
      this.drain();
    } else if (offset > this.nextOffset && !this.pending.has(offset)) {
      this.pending.set(offset, chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > this.maxPendingBytes) this.giveUpOrder();
    } else {
      // Behind the next expected offset (a rewrite or re-read) or a second chunk at the
      // same pending offset: the bytes no longer describe one sequential stream.
      this.giveUpOrder();
    }
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.total;
  }

  /** The digest so far; may be called again later (hash copies, not finals). */
  result(): StreamDigest {
    const sequential = this.inOrder && this.pending.size === 0;
    return sequential
      ? { name: this.name, bytes: this.total, sha256: this.ordered.copy().digest('hex') }
      : { name: `${this.name}-unordered`, bytes: this.total, sha256: this.arrival.copy().digest('hex') };
  }

  private consume(chunk: Buffer): void {
    this.ordered.update(chunk);
    this.nextOffset += chunk.length;
  }

  private drain(): void {
    for (let next = this.pending.get(this.nextOffset); next !== undefined; next = this.pending.get(this.nextOffset)) {
      this.pending.delete(this.nextOffset);
      this.pendingBytes -= next.length;
      this.consume(next);
    }
  }

  private giveUpOrder(): void {
    this.inOrder = false;
    this.pending.clear();
    this.pendingBytes = 0;
  }
}
