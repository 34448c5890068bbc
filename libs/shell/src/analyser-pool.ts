// The asynchronous shell analyser: analyseCommand in a pool of worker threads, so that a long
// command line never blocks the event loop of whoever decides on it.
//
// Why: mvdan/sh's parser is GopherJS code, about 1-4 ms for a short command and about 50 ms a
// KiB on long ones (analyse.ts, MAX_COMMAND_BYTES). Inline, one agent sending 4 KiB command
// lines stalls every other verdict of the policy processor for as long.
//
// The threads, the queue and the replacing are @agentgate/worker-pool's (worker-pool.ts), which
// libs/sql's parser pool uses too; this file says what an analysis and a failure mean to it. A
// pure JavaScript parser needs less than libpg-query: no WebAssembly heap to watch and recycle,
// no cache, no coalescing (a command line is analysed once per request, and repeats are rarely
// long ones); but a bounded queue, and short commands may be analysed inline.
//
// Failure is fail-closed, never a rejection: a request whose worker takes longer than timeoutMs
// (the worker is terminated and replaced), whose worker crashed, that finds the queue full, or
// that arrives after close() resolves as the unknown analysis (no commands, one reason:
// analysis-timeout, analysis-failed, analysis-overloaded, analysis-closed), which every policy
// denies unless a rule names `unknown: true`. The decider then needs no second code path.
//
// Scheduling (the worker pool's): requests wait in one bounded queue and go to idle workers in
// arrival order, except that commands of at least largeCommandBytes may occupy at most
// workers - 1 workers: with two workers one is always there for short commands, which may
// overtake a waiting long one.
import { type JobFailure, WorkerPool } from '@agentgate/worker-pool';
import { analyseCommand, type ShellFacts, type UnknownReason } from './analyse.js';
import type { AnalyseRequest, AnalyserFault, AnalyserMessage } from './analyser-worker-protocol.js';

/** Options of createShellAnalyserPool; every field has a default. */
export interface ShellAnalyserPoolOptions {
  /** Worker threads, each with its own parser (default 2). */
  workers?: number;
  /** Longest a worker may take over one command before it is terminated and replaced (default 2000 ms). */
  timeoutMs?: number;
  /** Requests that may wait for a worker; more are answered analysis-overloaded (default 1000). */
  maxQueue?: number;
  /** Commands of at least this many UTF-8 bytes never occupy the last free worker (default 1 KiB). */
  largeCommandBytes?: number;
  /**
   * Commands shorter than this many UTF-8 bytes are analysed inline, on the caller's thread
   * (default 0: none). Measured on the 2-core machine, a short command costs 1-4 ms inline and
   * its worker round trip adds only ~0.1 ms of latency, so inline buys nothing but loop time.
   */
  inlineBelowBytes?: number;
  /** V8 old-generation limit of each worker, in MiB; a worker over it dies and is replaced (default 256). */
  maxWorkerOldGenerationMb?: number;
}

/** Counters for metrics; all but the gauges only grow. */
export interface ShellAnalyserPoolStats {
  /** Workers able to analyse now (gauge). */
  workers: number;
  /** Workers analysing now (gauge). */
  busyWorkers: number;
  /** Requests waiting for a worker (gauge). */
  queueLength: number;
  /** Commands a worker has answered. */
  analyses: number;
  /** Commands analysed inline (shorter than inlineBelowBytes). */
  inline: number;
  /** Requests that ran past timeoutMs. */
  timeouts: number;
  /** Requests whose worker crashed or exited, or that found no worker able to start. */
  failures: number;
  /** Requests refused because the queue was full. */
  overloaded: number;
  /** Workers replaced, for any reason. */
  recycles: number;
}

/** The pool's analyser: the same facts as analyseCommand, answered off the event loop. */
export interface AsyncShellAnalyser {
  /**
   * What `command` runs (see ShellFacts). Never rejects: a timeout, a crash, a full queue or a
   * closed pool resolves as the unknown analysis (no commands, one analysis-* reason).
   */
  analyse(command: string): Promise<ShellFacts>;
  stats(): ShellAnalyserPoolStats;
  /** Answers what is pending analysis-closed and terminates every worker. Idempotent. */
  close(): Promise<void>;
}

/** The reasons only the pool gives: the command was never analysed. */
export type PoolUnknownReason = Extract<UnknownReason, `analysis-${string}`>;

/** Starts the workers (each loads and warms the parser) and resolves when all are ready. */
export function createShellAnalyserPool(options: ShellAnalyserPoolOptions = {}): Promise<AsyncShellAnalyser> {
  return ShellAnalyserPool.start(options);
}

interface Job {
  command: string;
  fault?: AnalyserFault;
}

type Settings = Required<ShellAnalyserPoolOptions>;

/** @internal exported for analyser-pool tests only; the package exports createShellAnalyserPool. */
export class ShellAnalyserPool implements AsyncShellAnalyser {
  private readonly workers: WorkerPool<Job, ShellFacts, AnalyserMessage>;
  private inline = 0;

  private constructor(private readonly settings: Settings) {
    this.workers = new WorkerPool(
      {
        name: 'analyser',
        script: new URL('./analyser-worker.js', import.meta.url),
        workers: settings.workers,
        timeoutMs: settings.timeoutMs,
        maxQueue: settings.maxQueue,
        maxOldGenerationMb: settings.maxWorkerOldGenerationMb,
      },
      {
        request: (job, id): AnalyseRequest =>
          job.fault === undefined ? { id, command: job.command } : { id, command: job.command, fault: job.fault },
        answer: (_job, msg) => ({ result: msg.facts }),
        fail: (_job, failure) => unknownAnalysis(reasonOf(failure)),
      },
    );
  }

  static async start(options: ShellAnalyserPoolOptions): Promise<ShellAnalyserPool> {
    const pool = new ShellAnalyserPool(settingsFrom(options));
    try {
      await pool.workers.whenReady();
    } catch (err) {
      await pool.close();
      throw new Error(`the shell analyser workers did not start: ${(err as Error).message}`, { cause: err });
    }
    return pool;
  }

  analyse(command: string): Promise<ShellFacts> {
    return this.request(command);
  }

  /** Sends `command` with `fault` for the worker to commit; tests only. */
  analyseWithFault(command: string, fault: AnalyserFault): Promise<ShellFacts> {
    return this.request(command, fault);
  }

  stats(): ShellAnalyserPoolStats {
    const w = this.workers.stats();
    return {
      workers: w.workers,
      busyWorkers: w.busyWorkers,
      queueLength: w.queueLength,
      analyses: w.answered,
      inline: this.inline,
      timeouts: w.timeouts,
      failures: w.failures,
      overloaded: w.overloaded,
      recycles: w.recycles,
    };
  }

  close(): Promise<void> {
    return this.workers.close();
  }

  private request(command: string, fault?: AnalyserFault): Promise<ShellFacts> {
    if (this.workers.closed) return Promise.resolve(unknownAnalysis('analysis-closed'));
    const bytes = Buffer.byteLength(command, 'utf8');
    if (fault === undefined && bytes < this.settings.inlineBelowBytes) {
      this.inline++;
      return Promise.resolve(analyseCommand(command));
    }
    return this.workers.submit(fault === undefined ? { command } : { command, fault }, bytes >= this.settings.largeCommandBytes);
  }
}

/** The reason a command the workers did not answer is unknown. */
function reasonOf(failure: JobFailure): PoolUnknownReason {
  switch (failure.kind) {
    case 'crashed':
    case 'no-worker':
      return 'analysis-failed';
    case 'timeout':
      return 'analysis-timeout';
    case 'overloaded':
      return 'analysis-overloaded';
    case 'closed':
      return 'analysis-closed';
    default: {
      const never: never = failure;
      throw new Error(`unknown failure ${String(never)}`);
    }
  }
}

/** What a request gets when its command was never analysed: nothing known, so policy denies. */
export function unknownAnalysis(reason: PoolUnknownReason): ShellFacts {
  return { commands: [], unknown: [reason], writes: [] };
}

function settingsFrom(options: ShellAnalyserPoolOptions): Settings {
  const settings: Settings = {
    workers: options.workers ?? 2,
    timeoutMs: options.timeoutMs ?? 2000,
    maxQueue: options.maxQueue ?? 1000,
    largeCommandBytes: options.largeCommandBytes ?? 1024,
    inlineBelowBytes: options.inlineBelowBytes ?? 0,
    maxWorkerOldGenerationMb: options.maxWorkerOldGenerationMb ?? 256,
  };
  const minimum: Settings = {
    workers: 1,
    timeoutMs: 1,
    maxQueue: 0,
    largeCommandBytes: 0,
    inlineBelowBytes: 0,
    maxWorkerOldGenerationMb: 16,
  };
  for (const [key, value] of Object.entries(settings) as [keyof Settings, number][]) {
    if (!Number.isSafeInteger(value) || value < minimum[key]) {
      throw new RangeError(`shell analyser pool option ${key} must be an integer of at least ${minimum[key]}, not ${value}`);
    }
  }
  return settings;
}
