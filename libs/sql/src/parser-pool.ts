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
// The threads, the queue and the replacing are @agentgate/worker-pool's (worker-pool.ts, shared
// with libs/shell's analyser pool); this file says what a parse and a parser failure mean to it.
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
// not every caller (see parser-worker-protocol.ts). The caches and the coalescing of identical
// requests sit in front of the workers, here.
//
// Scheduling (the worker pool's): requests wait in one queue, with no bound, and go to idle
// workers in arrival order, except that statements of at least largeStatementBytes may occupy at
// most workers - 1 workers: with the default two workers one is always there for short
// statements, which may overtake a waiting long one. With a single worker a long statement delays
// everything queued behind it.
import { GatewayError } from '@agentgate/errors';
import { type JobFailure, type ReplyMessage, WorkerPool } from '@agentgate/worker-pool';
import { classified, deepFreeze, freezeClassification, type SqlClassification, unparseable } from './classification.js';
import { LruCache } from './lru-cache.js';
import { ShapeCache } from './shape-cache.js';
import { type SqlShape, sqlShape } from './sql-shape.js';
import type { ParseRequest, ParserFault, ParserWorkerData, WorkerMessage } from './parser-worker-protocol.js';

const MiB = 1024 * 1024;

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
  fault?: ParserFault;
}

/** `retainedBytes` is undefined when the answer came from a parser failure: never cache it. */
interface Parsed {
  classification: SqlClassification;
  retainedBytes?: number;
}

type Settings = Required<SqlParserPoolOptions>;

/** Internal switches for tests; not part of the package's API. */
export interface ParserPoolInternals {
  /** false keeps every worker forever, as one long-lived instance would be: the control for the poisoning test. */
  recycle: boolean;
}

/** @internal exported for parser-pool tests only; the package exports createSqlParserPool. */
export class ParserPool implements AsyncSqlParser {
  private readonly workers: WorkerPool<Job, Parsed, WorkerMessage>;
  private readonly cache: LruCache<SqlClassification>;
  private readonly inflight = new Map<string, Promise<SqlClassification>>();
  private readonly shapes: ShapeCache | undefined;
  /** brokenParses: answers in which the parser failed other than by a syntax error. */
  private readonly counters = { cacheHits: 0, shapeHits: 0, coalesced: 0, brokenParses: 0 };
  /** libpg-query's compiled WebAssembly.Module, from the first worker; shared with every later one. */
  private module?: object;

  private constructor(
    private readonly settings: Settings,
    private readonly internals: ParserPoolInternals,
  ) {
    this.cache = new LruCache({ maxEntries: settings.maxCacheEntries, maxWeight: settings.maxCacheBytes });
    this.shapes = settings.maxShapeEntries > 0 ? new ShapeCache({ maxEntries: settings.maxShapeEntries }) : undefined;
    this.workers = new WorkerPool(
      {
        name: 'parser',
        script: new URL('./parser-worker.js', import.meta.url),
        workerData: (): ParserWorkerData => (this.module ? { module: this.module } : {}),
        workers: settings.workers,
        timeoutMs: settings.timeoutMs,
        maxOldGenerationMb: settings.maxWorkerOldGenerationMb,
      },
      {
        request: (job, id): ParseRequest => (job.fault === undefined ? { id, sql: job.sql } : { id, sql: job.sql, fault: job.fault }),
        ready: (msg) => {
          this.module ??= msg.module;
        },
        gauge: (msg) => msg.heapBytes,
        answer: (job, msg) => this.answer(job, msg),
        fail: (_job, failure) => failed(failure),
      },
    );
  }

  static async start(options: SqlParserPoolOptions, internals: ParserPoolInternals): Promise<ParserPool> {
    const pool = new ParserPool(settingsFrom(options), internals);
    try {
      await pool.workers.whenReady();
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
    const w = this.workers.stats();
    return {
      workers: w.workers,
      busyWorkers: w.busyWorkers,
      largestHeapBytes: w.largestGauge,
      queueLength: w.queueLength,
      parses: w.answered,
      cacheHits: this.counters.cacheHits,
      shapeHits: this.counters.shapeHits,
      coalesced: this.counters.coalesced,
      recycles: w.recycles,
      parserFailures: this.counters.brokenParses + w.failures + w.timeouts,
      timeouts: w.timeouts,
      cacheEntries: this.cache.size,
      cacheBytes: this.cache.totalWeight,
    };
  }

  async close(): Promise<void> {
    const stopped = this.workers.close();
    this.cache.clear();
    await stopped;
  }

  private request(sql: string, fault?: ParserFault): Promise<SqlClassification> {
    if (this.workers.closed) return Promise.reject(shuttingDown());
    const bytes = Buffer.byteLength(sql, 'utf8');
    const large = bytes >= this.settings.largeStatementBytes;
    // What repeats (pgbench, ORMs, health checks) is short; a long statement would spend the
    // cache's bytes on one entry that is unlikely to come again.
    const shareable = fault === undefined && this.settings.maxCacheEntries > 0 && bytes <= this.settings.maxCacheableSqlBytes;
    if (!shareable) return this.workers.submit(fault === undefined ? { sql } : { sql, fault }, large).then((p) => p.classification);

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
    const shared = this.workers.submit(shape ? { sql, shape } : { sql }, large).then(
      ({ classification, retainedBytes }) => {
        this.inflight.delete(sql);
        if (retainedBytes !== undefined && !this.workers.closed) this.cache.set(sql, classification, bytes + retainedBytes);
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

  /** A worker's reply: its classification, and whether the worker's instance is to be replaced. */
  private answer(job: Job, msg: ReplyMessage<WorkerMessage>): { result: Parsed; replace: boolean } {
    const replace = this.internals.recycle && (msg.broken !== undefined || msg.heapBytes > this.settings.recycleAfterHeapBytes);
    if (msg.broken !== undefined) {
      this.counters.brokenParses++;
      return { result: { classification: parserFailure(msg.broken) }, replace };
    }
    if (job.shape && msg.error === undefined) this.shapes?.remember(job.shape, msg.statements);
    return { result: { classification: classificationOf(job.sql, msg), retainedBytes: msg.trees.byteLength }, replace };
  }
}

function shuttingDown(): GatewayError {
  return new GatewayError('AG_ERR_SHUTTING_DOWN', 'the SQL parser pool is closed');
}

/** A request the workers did not answer: unparseable, so the caller fails closed; only close() rejects. */
function failed(failure: JobFailure): Parsed {
  switch (failure.kind) {
    case 'crashed':
      return { classification: parserFailure(failure.reason) };
    case 'timeout':
      return { classification: parserFailure(`no answer within ${failure.timeoutMs} ms`) };
    case 'no-worker':
      return { classification: parserFailure(`no parser worker could start (${failure.reason})`) };
    case 'overloaded':
      // The SQL pool's queue has no bound; kept for the exhaustive switch.
      return { classification: parserFailure('the parser queue is full') };
    case 'closed':
      throw shuttingDown();
    default: {
      const never: never = failure;
      throw new Error(`unknown failure ${String(never)}`);
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
