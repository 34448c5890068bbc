// The asynchronous classifier: libpg-query in a pool of worker threads, so that parsing never
// blocks the event loop and a damaged parser instance is thrown away instead of kept.
//
// Why workers and not one long-lived instance: the WebAssembly heap grows with the statement
// and never shrinks (its ceiling is 1 GiB), and some failures leave the instance damaged:
//   - PostgreSQL's out-of-memory path can end in a FATAL error whose exit() leaks all the parse
//     had allocated (645 MB after one 8 MiB "select 1,1,..."): later statements run out of
//     memory, and a few more such failures corrupt the heap;
//   - a stack overflow inside the parser (writing out the tree of "select 1+1+...+1" recurses
//     once per term) is a RangeError that leaves Emscripten's stack pointer where it was: about
//     ten 200 KB statements and every call traps with "memory access out of bounds".
// A worker is cheap to replace (a few hundred ms); the process's one instance is not.
//
// Recovery: a worker is replaced (a fresh thread, a fresh WebAssembly instance)
//   - after any parser failure other than a syntax error (RuntimeError, ExitStatus, "out of
//     memory", a crash or exit of the thread), answering only the request it was running;
//   - when its heap has grown past recycleAfterHeapBytes, after answering;
//   - when a request runs longer than timeoutMs (the thread is terminated).
// A request that met a failure resolves as unparseable (ok: false, statementKind 'UNPARSEABLE',
// error starting with "parser failure:"): callers already deny what does not parse, so a broken
// parser fails closed with no second code path. Such results are never cached. Only close()
// rejects, with AG_ERR_SHUTTING_DOWN.
//
// Results: every classification is frozen, so the cache and coalesced requests can share it.
// Statement texts are sliced on the main thread from the caller's string; trees arrive as JSON
// bytes and are parsed (and frozen) when first read, so reading a huge tree costs the reader,
// not every caller (see parser-worker-protocol.ts).
//
// Scheduling: requests wait in one queue and go to idle workers in arrival order, except that
// statements of at least largeStatementBytes may occupy at most workers - 1 workers: with the
// default two workers one is always there for short statements, which may overtake a waiting long
// one. With a single worker a long statement delays everything queued behind it.
import { Worker } from 'node:worker_threads';
import { GatewayError } from '@agentgate/errors';
import { classified, deepFreeze, freezeClassification, type SqlClassification, unparseable } from './classification.js';
import { LruCache } from './lru-cache.js';
import { ShapeCache } from './shape-cache.js';
import { type SqlShape, sqlShape } from './sql-shape.js';
import type { ParseRequest, ParserFault, ParserWorkerData, WorkerMessage } from './parser-worker-protocol.js';

const MiB = 1024 * 1024;
const RESTART_PAUSE_MS = 1000;

/** Options of createSqlParserPool; every field has a default. */
export interface SqlParserPoolOptions {
  /** Worker threads, each with its own parser instance (default 2). */
  workers?: number;
  /** Longest a worker may take over one statement before it is terminated and replaced (default 10 s). */
  timeoutMs?: number;
  /** A worker whose WebAssembly heap has grown past this is replaced after answering (default 256 MiB; it starts at 128 MiB). */
  recycleAfterHeapBytes?: number;
  /** Statements of at least this many UTF-8 bytes never occupy the last free worker (default 64 KiB). */
  largeStatementBytes?: number;
  /** Classifications kept, by exact statement text; 0 turns the cache off (default 1000). */
  maxCacheEntries?: number;
  /** Bytes the cache may hold: statement texts (UTF-8) plus their trees as JSON (default 16 MiB). */
  maxCacheBytes?: number;
  /** Longer statements are neither cached nor coalesced (default 8 KiB). */
  maxCacheableSqlBytes?: number;
  /**
   * Classifications kept by statement shape (literals and comments aside, see sql-shape.ts),
   * behind the exact-text cache; 0 (the default) keeps none. A statement answered from it has
   * its kinds, texts and facts but no parse tree (reading `tree` throws): for callers that
   * decide on facts, as the policy processor does.
   */
  maxShapeEntries?: number;
  /** V8 old-generation limit of each worker, in MiB; a worker over it dies and is replaced (default 512). */
  maxWorkerOldGenerationMb?: number;
}

/** Counters for metrics; all but the gauges only grow. */
export interface SqlParserPoolStats {
  /** Workers able to parse now (gauge). */
  workers: number;
  /** Workers parsing now (gauge). */
  busyWorkers: number;
  /** The largest WebAssembly heap of a live worker, in bytes (gauge). */
  largestHeapBytes: number;
  /** Requests waiting for a worker (gauge). */
  queueLength: number;
  /** Statements a worker has answered. */
  parses: number;
  /** Requests answered from the cache. */
  cacheHits: number;
  /** Requests answered from the shape cache (no exact-text hit, a text of the same shape parsed before). */
  shapeHits: number;
  /** Requests that joined an identical request already being parsed. */
  coalesced: number;
  /** Entries in the cache, and their statement and tree bytes (gauges). */
  cacheEntries: number;
  cacheBytes: number;
  /** Workers replaced, for any reason. */
  recycles: number;
  /** Requests answered unparseable because the parser broke, crashed or timed out. */
  parserFailures: number;
  /** Requests that ran past timeoutMs. */
  timeouts: number;
}

/** The pool's classifier: same classifications as SqlParser, answered off the event loop. */
export interface AsyncSqlParser {
  /**
   * Classifies `sql`. Never rejects for the statement's sake: a syntax error or a parser failure
   * resolves unparseable. Results are deeply frozen and may be shared between callers; each
   * statement's tree is parsed from JSON when first read.
   */
  classify(sql: string): Promise<SqlClassification>;
  stats(): SqlParserPoolStats;
  /** Rejects what is pending with AG_ERR_SHUTTING_DOWN and terminates every worker. Idempotent. */
  close(): Promise<void>;
}

/** Starts the workers (each loads libpg-query once) and resolves when all are ready. */
export function createSqlParserPool(options: SqlParserPoolOptions = {}): Promise<AsyncSqlParser> {
  return ParserPool.start(options, { recycle: true });
}

interface Job {
  sql: string;
  /** Set when the parse may be kept for every text of this shape. */
  shape?: SqlShape;
  large: boolean;
  fault?: ParserFault;
  /** `retainedBytes` is undefined when the answer came from a parser failure: never cache it. */
  settle(classification: SqlClassification, retainedBytes?: number): void;
  fail(err: Error): void;
}

interface Slot {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'retired';
  heapBytes: number;
  job?: { id: number; job: Job; timer: NodeJS.Timeout };
  lastError?: Error;
  /** Set while the pool is starting: how the first 'ready' or failure is reported. */
  onReady?: (err?: Error) => void;
  /** A replacement that failed to start is tried again after a pause. */
  restart?: NodeJS.Timeout;
}

type Settings = Required<SqlParserPoolOptions>;

/** Internal switches for tests; not part of the package's API. */
export interface ParserPoolInternals {
  /** false keeps every worker forever, as one long-lived instance would be: the control for the poisoning test. */
  recycle: boolean;
}

/** @internal exported for parser-pool tests only; the package exports createSqlParserPool. */
export class ParserPool implements AsyncSqlParser {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly cache: LruCache<SqlClassification>;
  private readonly inflight = new Map<string, Promise<SqlClassification>>();
  private readonly terminating = new Set<Promise<unknown>>();
  private readonly shapes: ShapeCache | undefined;
  private readonly counters = { parses: 0, cacheHits: 0, shapeHits: 0, coalesced: 0, recycles: 0, parserFailures: 0, timeouts: 0 };
  private nextId = 1;
  private closed = false;
  /** libpg-query's compiled WebAssembly.Module, from the first worker; shared with every later one. */
  private module?: object;

  private constructor(
    private readonly settings: Settings,
    private readonly internals: ParserPoolInternals,
  ) {
    this.cache = new LruCache({ maxEntries: settings.maxCacheEntries, maxWeight: settings.maxCacheBytes });
    this.shapes = settings.maxShapeEntries > 0 ? new ShapeCache({ maxEntries: settings.maxShapeEntries }) : undefined;
  }

  static async start(options: SqlParserPoolOptions, internals: ParserPoolInternals): Promise<ParserPool> {
    const pool = new ParserPool(settingsFrom(options), internals);
    const ready: Promise<void>[] = [];
    for (let i = 0; i < pool.settings.workers; i++) {
      const slot = pool.spawn();
      pool.slots.push(slot);
      ready.push(new Promise((resolve, reject) => (slot.onReady = (err) => (err ? reject(err) : resolve()))));
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw new GatewayError('AG_ERR_INTERNAL', `the SQL parser workers did not start: ${(err as Error).message}`, { cause: err });
    }
    return pool;
  }

  classify(sql: string): Promise<SqlClassification> {
    return this.request(sql);
  }

  /** Classifies `sql` after the worker commits `fault`; tests only. Never cached or coalesced. */
  classifyWithFault(sql: string, fault: ParserFault): Promise<SqlClassification> {
    return this.request(sql, fault);
  }

  stats(): SqlParserPoolStats {
    const live = this.slots.filter((s) => s.state === 'idle' || s.state === 'busy');
    return {
      workers: live.length,
      busyWorkers: live.filter((s) => s.state === 'busy').length,
      largestHeapBytes: Math.max(0, ...live.map((s) => s.heapBytes)),
      queueLength: this.queue.length,
      ...this.counters,
      cacheEntries: this.cache.size,
      cacheBytes: this.cache.totalWeight,
    };
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const stopped = new GatewayError('AG_ERR_SHUTTING_DOWN', 'the SQL parser pool is closed');
      for (const job of this.queue.splice(0)) job.fail(stopped);
      for (const slot of this.slots) {
        const running = slot.job;
        this.retire(slot);
        running?.job.fail(stopped);
        slot.onReady?.(stopped);
      }
      this.cache.clear();
    }
    await Promise.all(this.terminating);
  }

  private request(sql: string, fault?: ParserFault): Promise<SqlClassification> {
    if (this.closed) return Promise.reject(new GatewayError('AG_ERR_SHUTTING_DOWN', 'the SQL parser pool is closed'));
    const bytes = Buffer.byteLength(sql, 'utf8');
    const large = bytes >= this.settings.largeStatementBytes;
    // What repeats (pgbench, ORMs, health checks) is short; a long statement would spend the
    // cache's bytes on one entry that is unlikely to come again.
    const shareable = fault === undefined && this.settings.maxCacheEntries > 0 && bytes <= this.settings.maxCacheableSqlBytes;
    if (!shareable) return this.enqueue(sql, large, fault).then(({ classification }) => classification);

    const cached = this.cache.get(sql);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      return Promise.resolve(cached);
    }
    const pending = this.inflight.get(sql);
    if (pending !== undefined) {
      this.counters.coalesced++;
      return pending;
    }
    const shape = this.shapes ? sqlShape(sql) : null;
    if (shape) {
      const sameShape = this.shapes!.get(sql, shape);
      if (sameShape !== undefined) {
        this.counters.shapeHits++;
        this.cache.set(sql, sameShape, bytes);
        return Promise.resolve(sameShape);
      }
    }
    const shared = this.enqueue(sql, large, undefined, shape ?? undefined).then(
      ({ classification, retainedBytes }) => {
        this.inflight.delete(sql);
        if (retainedBytes !== undefined && !this.closed) this.cache.set(sql, classification, bytes + retainedBytes);
        return classification;
      },
      (err: unknown) => {
        this.inflight.delete(sql);
        throw err;
      },
    );
    this.inflight.set(sql, shared);
    return shared;
  }

  private enqueue(
    sql: string,
    large: boolean,
    fault?: ParserFault,
    shape?: SqlShape,
  ): Promise<{ classification: SqlClassification; retainedBytes?: number }> {
    return new Promise((resolve, reject) => {
      const job: Job = { sql, large, settle: (classification, retainedBytes) => resolve({ classification, retainedBytes }), fail: reject };
      if (fault !== undefined) job.fault = fault;
      if (shape !== undefined) job.shape = shape;
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Hands queued requests to idle workers, oldest first, keeping a worker free of long statements. */
  private dispatch(): void {
    const maxLarge = Math.max(1, this.settings.workers - 1);
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.state !== 'idle') continue;
      const busyLarge = this.slots.filter((s) => s.state === 'busy' && s.job?.job.large).length;
      const index = busyLarge < maxLarge ? 0 : this.queue.findIndex((j) => !j.large);
      if (index < 0) return;
      const [job] = this.queue.splice(index, 1);
      if (job) this.run(slot, job);
    }
  }

  private run(slot: Slot, job: Job): void {
    const id = this.nextId++;
    const timer = setTimeout(() => this.timedOut(slot), this.settings.timeoutMs);
    slot.state = 'busy';
    slot.job = { id, job, timer };
    const request: ParseRequest = { id, sql: job.sql };
    if (job.fault !== undefined) request.fault = job.fault;
    slot.worker.postMessage(request);
  }

  private spawn(): Slot {
    const workerData: ParserWorkerData = this.module ? { module: this.module } : {};
    const worker = new Worker(new URL('./parser-worker.js', import.meta.url), {
      workerData,
      // Inherited flags are meant for the main script, and some make a worker fail to start
      // (node --input-type=module -e ...); the parser needs none.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.settings.maxWorkerOldGenerationMb },
    });
    const slot: Slot = { worker, state: 'starting', heapBytes: 0 };
    worker.on('message', (msg: WorkerMessage) => this.received(slot, msg));
    // Without a listener a worker's uncaught error would be rethrown on the main thread.
    worker.on('error', (err) => (slot.lastError = err));
    worker.on('messageerror', (err) => {
      slot.lastError = err;
      this.failed(slot, `the reply could not be read: ${err.message}`);
    });
    worker.on('exit', (code) =>
      this.failed(slot, `the parser worker exited with code ${code}${slot.lastError ? ` (${slot.lastError.message})` : ''}`),
    );
    return slot;
  }

  private received(slot: Slot, msg: WorkerMessage): void {
    if (slot.state === 'retired') return;
    slot.heapBytes = msg.heapBytes;
    if (msg.type === 'ready') {
      this.module ??= msg.module;
      slot.state = 'idle';
      slot.onReady?.();
      slot.onReady = undefined;
      this.dispatch();
      return;
    }
    const running = slot.job;
    if (running === undefined || running.id !== msg.id) return;
    clearTimeout(running.timer);
    slot.job = undefined;
    slot.state = 'idle';
    this.counters.parses++;
    if (msg.broken !== undefined) {
      this.counters.parserFailures++;
      running.job.settle(parserFailure(msg.broken));
    } else {
      if (running.job.shape && msg.error === undefined) this.shapes?.remember(running.job.shape, msg.statements);
      running.job.settle(classificationOf(running.job.sql, msg), msg.trees.byteLength);
    }
    if (this.internals.recycle && (msg.broken !== undefined || msg.heapBytes > this.settings.recycleAfterHeapBytes)) this.replace(slot);
    this.dispatch();
  }

  /** The worker crashed, exited or sent what cannot be read: answer its request, then replace it. */
  private failed(slot: Slot, reason: string): void {
    if (slot.state === 'retired') return;
    if (slot.state === 'starting') {
      this.retire(slot);
      if (slot.onReady) {
        slot.onReady(new Error(reason));
        return;
      }
      // A replacement that cannot start (threads or memory short): try again after a pause,
      // and meanwhile answer what waits when no other worker is left to serve it.
      this.failWithoutWorkers(reason);
      slot.restart = setTimeout(() => this.respawn(slot), RESTART_PAUSE_MS);
      return;
    }
    const running = slot.job;
    if (running !== undefined) {
      clearTimeout(running.timer);
      this.counters.parserFailures++;
      running.job.settle(parserFailure(reason));
    }
    this.replace(slot);
  }

  private timedOut(slot: Slot): void {
    const running = slot.job;
    if (running === undefined || slot.state === 'retired') return;
    this.counters.timeouts++;
    this.counters.parserFailures++;
    running.job.settle(parserFailure(`no answer within ${this.settings.timeoutMs} ms`));
    this.replace(slot);
  }

  private replace(slot: Slot): void {
    this.retire(slot);
    this.respawn(slot);
  }

  private respawn(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (this.closed || index < 0) return;
    this.counters.recycles++;
    this.slots[index] = this.spawn();
  }

  /** Stops a worker for good; its exit is awaited by close(). */
  private retire(slot: Slot): void {
    clearTimeout(slot.restart);
    if (slot.job) clearTimeout(slot.job.timer);
    slot.job = undefined;
    if (slot.state === 'retired') return;
    slot.state = 'retired';
    const exited = slot.worker.terminate().catch(() => undefined);
    this.terminating.add(exited);
    void exited.then(() => this.terminating.delete(exited));
  }

  /** When no worker can parse, waiting requests would wait forever: answer them unparseable. */
  private failWithoutWorkers(reason: string): void {
    const live = this.slots.some((s) => s.state === 'idle' || s.state === 'busy' || s.state === 'starting');
    if (live) return;
    for (const job of this.queue.splice(0)) {
      this.counters.parserFailures++;
      job.settle(parserFailure(`no parser worker could start (${reason})`));
    }
  }
}

/** What a request gets when the parser broke under it: unparseable, so the caller fails closed. */
function parserFailure(reason: string): SqlClassification {
  return freezeClassification(unparseable(`parser failure: ${reason}`));
}

/** The worker's answer, assembled on the main thread; each tree is parsed from its JSON when first read. */
function classificationOf(sql: string, msg: WorkerMessage & { type: 'parsed' }): SqlClassification {
  if (msg.error !== undefined) return freezeClassification(unparseable(msg.error));
  const { trees } = msg;
  const located = msg.statements.map((s) => ({
    ...s,
    tree: () => {
      const json = Buffer.from(trees.buffer, trees.byteOffset + s.tree.from, s.tree.to - s.tree.from).toString('utf8');
      return deepFreeze(JSON.parse(json) as Record<string, unknown>);
    },
  }));
  return freezeClassification(classified(sql, located));
}

function settingsFrom(options: SqlParserPoolOptions): Settings {
  const settings: Settings = {
    workers: options.workers ?? 2,
    timeoutMs: options.timeoutMs ?? 10_000,
    recycleAfterHeapBytes: options.recycleAfterHeapBytes ?? 256 * MiB,
    largeStatementBytes: options.largeStatementBytes ?? 64 * 1024,
    maxCacheEntries: options.maxCacheEntries ?? 1000,
    maxCacheBytes: options.maxCacheBytes ?? 16 * MiB,
    maxCacheableSqlBytes: options.maxCacheableSqlBytes ?? 8 * 1024,
    maxShapeEntries: options.maxShapeEntries ?? 0,
    maxWorkerOldGenerationMb: options.maxWorkerOldGenerationMb ?? 512,
  };
  const minimum: Settings = {
    workers: 1,
    timeoutMs: 1,
    recycleAfterHeapBytes: 0,
    largeStatementBytes: 0,
    maxCacheEntries: 0,
    maxCacheBytes: 0,
    maxCacheableSqlBytes: 0,
    maxShapeEntries: 0,
    maxWorkerOldGenerationMb: 16,
  };
  for (const [key, value] of Object.entries(settings) as [keyof Settings, number][]) {
    if (!Number.isSafeInteger(value) || value < minimum[key]) {
      throw new GatewayError(
        'AG_ERR_CONFIG_INVALID',
        `SQL parser pool option ${key} must be an integer of at least ${minimum[key]}, not ${value}`,
      );
    }
  }
  return settings;
}
