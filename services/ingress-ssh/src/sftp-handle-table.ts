// The agent's SFTP handles and the target handles behind them. The agent never sees the
// target's handle bytes: it gets handles of our own, 4-byte counters never reused within the
// session, because OpenSSH reuses its handle slots and a stale agent handle must not land on
// a file the target opened later.
import { HandleDigest } from './sftp-stream-digest.js';

export type HandleKind = 'file' | 'dir';

export interface HandleEntry {
  readonly agentHandle: Buffer;
  readonly targetHandle: Buffer;
  readonly path: string;
  readonly kind: HandleKind;
  /** The OPEN pflags (0 for directories). */
  readonly flags: number;
  /** Set once CLOSE went to the target: nothing more may be sent on it. */
  closing: boolean;
  readonly read: HandleDigest;
  readonly written: HandleDigest;
}

const HANDLE_BYTES = 4;

export class HandleTable {
  private readonly entries = new Map<number, HandleEntry>();
  private counter = 0;

  /** Records a handle the target confirmed and returns the agent's handle for it. */
  add(targetHandle: Buffer, path: string, kind: HandleKind, flags: number): HandleEntry {
    this.counter = (this.counter + 1) % 2 ** 32;
    const agentHandle = Buffer.alloc(HANDLE_BYTES);
    agentHandle.writeUInt32BE(this.counter);
    const entry: HandleEntry = {
      agentHandle,
      targetHandle,
      path,
      kind,
      flags,
      closing: false,
      read: new HandleDigest('read'),
      written: new HandleDigest('written'),
    };
    this.entries.set(this.counter, entry);
    return entry;
  }

  /** The live (not closing) entry of an agent handle of the given kind, else undefined. */
  lookup(agentHandle: Buffer, kind?: HandleKind): HandleEntry | undefined {
    const entry = this.find(agentHandle);
    if (entry === undefined || entry.closing) return undefined;
    if (kind !== undefined && entry.kind !== kind) return undefined;
    return entry;
  }

  /** Forgets a handle (the target answered its CLOSE). */
  remove(entry: HandleEntry): void {
    const key = entry.agentHandle.readUInt32BE(0);
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  /** Removes and returns every entry not already closing (the relay is closing). */
  drain(): HandleEntry[] {
    const open = [...this.entries.values()].filter((e) => !e.closing);
    for (const entry of open) {
      entry.closing = true;
      this.remove(entry);
    }
    return open;
  }

  get size(): number {
    return this.entries.size;
  }

  private find(agentHandle: Buffer): HandleEntry | undefined {
    if (agentHandle.length !== HANDLE_BYTES) return undefined;
    return this.entries.get(agentHandle.readUInt32BE(0));
  }
}
