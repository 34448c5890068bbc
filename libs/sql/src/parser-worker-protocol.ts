// Messages between the parser pool (main thread) and a parser worker, and how a parse crosses
// between them.
//
// The main thread must not pay for a big parse either. So the statement texts are not sent back
// (the main thread slices them from the string it already has, at offsets the worker found), and
// the trees come back as JSON bytes in one transferred buffer, parsed only when a tree is read.
// Measured on the 2-core machine: receiving a 20 MB string blocks the receiver 60-250 ms, a
// transferred buffer ~0; rebuilding cloned tree objects blocks it about as long as the parse
// itself (1-2 s for 512 KiB of "select 1,1,1,..."), and cloning fails outright on deep trees: the
// structured clone recurses, and "select 1+1+...+1" with 1000 terms (2 KiB of SQL) overflows it.
// Each statement's facts (statement-facts.ts) are computed in the worker and cloned: they are
// small and flat, and policy reads them instead of the tree. Today's callers read only the kind,
// the text, the facts and the top of a few small trees.
import type { LocatedStatement } from './classification.js';

/**
 * Faults a test can ask a worker to commit instead of (or before) the next parse. Internal: the
 * pool exposes them only through ParserPool.classifyWithFault, never through the package entry.
 *   exit          the worker thread exits mid-request, as after an abort
 *   throw         an uncaught exception ends the worker
 *   hang          the worker never answers (a parser stuck in a loop)
 *   corrupt-heap  the WebAssembly heap is overwritten, then the statement is parsed: every parse
 *                 in this instance fails from now on with "memory access out of bounds", exactly
 *                 as after the real out-of-memory poisoning
 */
export type ParserFault = 'exit' | 'throw' | 'hang' | 'corrupt-heap';

/** What a worker is started with. */
export interface ParserWorkerData {
  /** libpg-query's WebAssembly.Module as an earlier worker compiled it. */
  module?: object;
}

export interface ParseRequest {
  id: number;
  sql: string;
  fault?: ParserFault;
}

/** A located statement whose tree is the JSON in `trees` between these byte offsets. */
export type WireStatement = LocatedStatement<{ from: number; to: number }>;

export type WorkerMessage =
  | { type: 'ready'; heapBytes: number; module?: object }
  | {
      type: 'parsed';
      id: number;
      /** The WebAssembly heap's size after this parse; it never shrinks. */
      heapBytes: number;
      /** Set when the parser failed other than by a syntax error: this worker must not parse again. */
      broken?: string;
      /** Why the statement is unparseable; absent when it parsed. */
      error?: string;
      statements: WireStatement[];
      /** UTF-8 JSON of every tree, back to back; transferred, not copied. */
      trees: Uint8Array<ArrayBuffer>;
    };

/** In the worker: every tree as JSON, in one buffer. Throws when a tree is too deep for JSON.stringify. */
export function toWire(located: readonly LocatedStatement[]): { statements: WireStatement[]; trees: Uint8Array<ArrayBuffer> } {
  const json = located.map((s) => Buffer.from(JSON.stringify(s.tree), 'utf8'));
  // A buffer of its own (not Node's shared pool), so that it can be transferred.
  const trees = new Uint8Array(json.reduce((n, b) => n + b.length, 0));
  let at = 0;
  const statements = located.map((s, i): WireStatement => {
    const bytes = json[i]!;
    trees.set(bytes, at);
    at += bytes.length;
    return {
      kind: s.kind,
      runs: s.runs,
      facts: s.facts,
      readsLiterals: s.readsLiterals,
      start: s.start,
      end: s.end,
      tree: { from: at - bytes.length, to: at },
    };
  });
  return { statements, trees };
}
