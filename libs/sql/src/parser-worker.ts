// A parser worker: one libpg-query WebAssembly instance on its own thread, answering parse
// requests one at a time. Started by parser-pool.ts from the compiled file next to it.
//
// The pool replaces a worker whose instance may be damaged, so every reply says how big the
// WebAssembly heap has grown and whether the parser failed other than by a syntax error.
// libpg-query keeps its Emscripten module private, so the heap is found by watching the one
// WebAssembly.instantiate call that loads it (below).
import { parentPort, workerData } from 'node:worker_threads';
import { type LocatedStatement, messageOf, parseStatements } from './classification.js';
import { type ParseRequest, type ParserWorkerData, toWire, type WorkerMessage } from './parser-worker-protocol.js';

// lib.dom is not in this project's libs; this is the part of the WebAssembly global used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmGlobal {
  instantiate(...args: unknown[]): Promise<unknown>;
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: abstract new (...args: never[]) => object;
}

const port = parentPort;
if (!port) throw new Error('parser-worker.js runs as a worker thread of the parser pool');

const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
const { parseSync, heap, module } = await loadWatchingHeap((workerData as ParserWorkerData | undefined)?.module);

port.on('message', (req: ParseRequest) => {
  if (req.fault !== undefined) commitFault(req.fault);
  const reply = answer(req);
  port.postMessage(reply, [reply.trees.buffer]);
});
port.postMessage({ type: 'ready', heapBytes: heap.buffer.byteLength, module } satisfies WorkerMessage);

type Reply = WorkerMessage & { type: 'parsed' };

function answer(req: ParseRequest): Reply {
  const base = (): Omit<Reply, 'heapBytes'> => ({ type: 'parsed', id: req.id, statements: [], trees: new Uint8Array(0) });
  let located: LocatedStatement[];
  try {
    located = parseStatements(req.sql, parseSync);
  } catch (thrown) {
    const reply: Reply = { ...base(), heapBytes: heap.buffer.byteLength, error: messageOf(thrown) };
    const broken = brokenParser(thrown);
    if (broken !== undefined) reply.broken = broken;
    return reply;
  }
  try {
    return { ...base(), heapBytes: heap.buffer.byteLength, ...toWire(located) };
  } catch (err) {
    // JSON.stringify recurses: a tree deep enough is refused like one too deep for the parser.
    return { ...base(), heapBytes: heap.buffer.byteLength, error: `the parse tree is too deep to pass on: ${messageOf(err)}` };
  }
}

/**
 * Wraps WebAssembly.instantiate while libpg-query loads, to keep the memory its instance
 * exports and the compiled module. Given a module compiled by an earlier worker, instantiates
 * that instead of compiling the bytes again: a replacement then starts with code V8 has already
 * optimised, instead of baseline code that parses several times slower for its first seconds.
 * Throws when no memory was seen: a libpg-query that loads differently must fail the pool at
 * startup (and its unit tests), not silently lose heap-based recycling.
 */
async function loadWatchingHeap(compiled?: object): Promise<{ parseSync: (sql: string) => unknown; heap: WasmMemory; module?: object }> {
  const original = wasm.instantiate;
  let found: { heap: WasmMemory; module?: object } | undefined;
  wasm.instantiate = async function (this: unknown, source: unknown, ...rest: unknown[]) {
    // instantiate(bytes) resolves to { module, instance }, instantiate(module) to the instance.
    const result = compiled
      ? { module: compiled, instance: await original.call(this, compiled, ...rest) }
      : ((await original.call(this, source, ...rest)) as { module?: unknown; instance?: unknown });
    const exports = (result.instance as { exports?: Record<string, unknown> } | undefined)?.exports ?? {};
    const heap = Object.values(exports).find((v): v is WasmMemory => v instanceof wasm.Memory);
    if (heap && !found) found = result.module instanceof wasm.Module ? { heap, module: result.module } : { heap };
    return result;
  };
  try {
    // Imported here, not at the top: static imports would load it before the watch is set.
    const { default: pgQuery } = await import('libpg-query');
    await pgQuery.loadModule();
    if (!found) throw new Error("libpg-query's WebAssembly memory was not seen while it loaded; heap-based recycling cannot work");
    return { parseSync: pgQuery.parseSync, ...found };
  } finally {
    wasm.instantiate = original;
  }
}

/**
 * A syntax error leaves the instance as it was; anything else may not. PostgreSQL reports
 * running out of its heap as an ordinary-looking SqlError ("out of memory"), and a FATAL error
 * ends in Emscripten's exit() (an ExitStatus) that leaks everything the parse had allocated.
 */
function brokenParser(thrown: unknown): string | undefined {
  if (thrown instanceof Error && thrown.name === 'SqlError') {
    // Bison's "memory exhausted" (nesting too deep, reported from scan.l) is an ordinary error.
    const file = (thrown as { sqlDetails?: { fileName?: string } }).sqlDetails?.fileName ?? '';
    const memory = /mmgr|stringinfo/.test(file) || /out of memory|memory alloc|enlarge string buffer/i.test(thrown.message);
    if (!memory) return undefined;
  }
  const name = (thrown as { name?: unknown } | null)?.name;
  return `${typeof name === 'string' ? name : typeof thrown}: ${messageOf(thrown)}`;
}

function commitFault(fault: NonNullable<ParseRequest['fault']>): void {
  switch (fault) {
    case 'exit':
      process.exit(70);
      break;
    case 'throw':
      // Uncaught in the message listener, as a bug in the worker would be: the worker ends.
      throw new Error('injected parser worker fault');
    case 'hang':
      // Busy, as a parser stuck in a loop inside WebAssembly would be; only terminate() ends it.
      for (;;) Math.random();
    case 'corrupt-heap':
      new Uint8Array(heap.buffer).fill(0xff);
      break;
    default: {
      const never: never = fault;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}
