// The asynchronous shell analyser: analyseCommand in a pool of worker threads, so that a long
// command line never blocks the event loop of whoever decides on it.
//
// Why: mvdan/sh's parser is GopherJS code, about 1-4 ms for a short command and about 50 ms a
// KiB on long ones (analyse.ts, MAX_COMMAND_BYTES). Inline, one agent sending 4 KiB command
// lines stalls every other verdict of the policy processor for as long.
//
// The structure follows libs/sql's parser pool (parser-pool.ts), cut down to what a pure
// JavaScript parser needs: no WebAssembly heap to watch and recycle, no cache, no coalescing
// (a command line is analysed once per request, and repeats are rarely long ones). The two pools
// are kept apart rather than sharing a generic pool: a shared one would be a new package (libs
// import only packages' public entries), and the SQL pool's heap recycling and caching are woven
// through its slot and job handling.
//
// Failure is fail-closed, never a rejection: a request whose worker takes longer than timeoutMs
// (the worker is terminated and replaced), whose worker crashed, that finds the queue full, or
// that arrives after close() resolves as the unknown analysis (no commands, one reason:
// analysis-timeout, analysis-failed, analysis-overloaded, analysis-closed), which every policy
// denies unless a rule names `unknown: true`. The decider then needs no second code path.
//
// Scheduling: requests wait in one bounded queue and go to idle workers in arrival order, except
// that commands of at least largeCommandBytes may occupy at most workers - 1 workers: with two
// workers one is always there for short commands, which may overtake a waiting long one.
import { Worker } from 'node:worker_threads';
import { analyseCommand, type ShellFacts, type UnknownReason } from './analyse.js';
import type { AnalyseRequest, AnalyserFault, AnalyserMessage } from './analyser-worker-protocol.js';

const RESTART_PAUSE_MS = 1000;

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
  large: boolean;
  fault?: AnalyserFault;
  settle(facts: ShellFacts): void;
}

interface Slot {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'retired';
  job?: { id: number; job: Job; timer: NodeJS.Timeout };
  lastError?: Error;
  /** Set while the pool is starting: how the first 'ready' or failure is reported. */
  onReady?: (err?: Error) => void;
  /** A replacement that failed to start is tried again after a pause. */
  restart?: NodeJS.Timeout;
}

type Settings = Required<ShellAnalyserPoolOptions>;

/** @internal exported for analyser-pool tests only; the package exports createShellAnalyserPool. */
export class ShellAnalyserPool implements AsyncShellAnalyser {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly terminating = new Set<Promise<unknown>>();
  private readonly counters = { analyses: 0, inline: 0, timeouts: 0, failures: 0, overloaded: 0, recycles: 0 };
  private nextId = 1;
  private closed = false;

  private constructor(private readonly settings: Settings) {}

  static async start(options: ShellAnalyserPoolOptions): Promise<ShellAnalyserPool> {
    const pool = new ShellAnalyserPool(settingsFrom(options));
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
    const live = this.slots.filter((s) => s.state === 'idle' || s.state === 'busy');
    return {
      workers: live.length,
      busyWorkers: live.filter((s) => s.state === 'busy').length,
      queueLength: this.queue.length,
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const job of this.queue.splice(0)) job.settle(unknownAnalysis('analysis-closed'));
      for (const slot of this.slots) {
        const running = slot.job;
        this.retire(slot);
        running?.job.settle(unknownAnalysis('analysis-closed'));
        slot.onReady?.(new Error('the shell analyser pool is closed'));
      }
    }
    await Promise.all(this.terminating);
  }

  private request(command: string, fault?: AnalyserFault): Promise<ShellFacts> {
    if (this.closed) return Promise.resolve(unknownAnalysis('analysis-closed'));
    const bytes = Buffer.byteLength(command, 'utf8');
    if (fault === undefined && bytes < this.settings.inlineBelowBytes) {
      this.counters.inline++;
      return Promise.resolve(analyseCommand(command));
    }
    if (this.queue.length >= this.settings.maxQueue) {
      this.counters.overloaded++;
      return Promise.resolve(unknownAnalysis('analysis-overloaded'));
    }
    return new Promise((settle) => {
      const job: Job = { command, large: bytes >= this.settings.largeCommandBytes, settle };
      if (fault !== undefined) job.fault = fault;
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Hands queued requests to idle workers, oldest first, keeping a worker free of long commands. */
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
    const request: AnalyseRequest = { id, command: job.command };
    if (job.fault !== undefined) request.fault = job.fault;
    slot.worker.postMessage(request);
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./analyser-worker.js', import.meta.url), {
      // Inherited flags are meant for the main script, and some make a worker fail to start
      // (node --input-type=module -e ...); the parser needs none.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.settings.maxWorkerOldGenerationMb },
    });
    const slot: Slot = { worker, state: 'starting' };
    worker.on('message', (msg: AnalyserMessage) => this.received(slot, msg));
    // Without a listener a worker's uncaught error would be rethrown on the main thread.
    worker.on('error', (err) => (slot.lastError = err));
    worker.on('messageerror', (err) => {
      slot.lastError = err;
      this.failed(slot, `the reply could not be read: ${err.message}`);
    });
    worker.on('exit', (code) =>
      this.failed(slot, `the analyser worker exited with code ${code}${slot.lastError ? ` (${slot.lastError.message})` : ''}`),
    );
    return slot;
  }

  private received(slot: Slot, msg: AnalyserMessage): void {
    if (slot.state === 'retired') return;
    if (msg.type === 'ready') {
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
    this.counters.analyses++;
    running.job.settle(msg.facts);
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
      this.failWithoutWorkers();
      slot.restart = setTimeout(() => this.respawn(slot), RESTART_PAUSE_MS);
      return;
    }
    const running = slot.job;
    if (running !== undefined) {
      clearTimeout(running.timer);
      this.counters.failures++;
      running.job.settle(unknownAnalysis('analysis-failed'));
    }
    this.replace(slot);
  }

  private timedOut(slot: Slot): void {
    const running = slot.job;
    if (running === undefined || slot.state === 'retired') return;
    this.counters.timeouts++;
    running.job.settle(unknownAnalysis('analysis-timeout'));
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

  /** When no worker can analyse, waiting requests would wait forever: answer them unknown. */
  private failWithoutWorkers(): void {
    const live = this.slots.some((s) => s.state === 'idle' || s.state === 'busy' || s.state === 'starting');
    if (live) return;
    for (const job of this.queue.splice(0)) {
      this.counters.failures++;
      job.settle(unknownAnalysis('analysis-failed'));
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
