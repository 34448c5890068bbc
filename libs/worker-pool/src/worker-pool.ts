// A pool of worker threads that run one job at a time each, for parsers that must not block the
// event loop of whoever decides on their output (libs/sql's libpg-query pool, libs/shell's
// mvdan/sh pool). The pool owns the threads and the scheduling; an adapter owns what a job and a
// reply mean, and what a job that got no answer resolves to.
//
// Failure is fail-closed, never a rejection the adapter did not ask for: a job whose worker takes
// longer than timeoutMs (the thread is terminated and replaced), whose worker crashed or exited,
// that finds the queue full, that no worker could start to run, or that is pending at close()
// resolves as adapter.fail(job, failure) says. Callers already deny what could not be parsed, so
// a broken worker needs no second code path. fail() may throw to reject instead (the SQL pool
// rejects at close() with AG_ERR_SHUTTING_DOWN).
//
// Recovery: a worker is replaced (a fresh thread) when it crashes, exits or sends a reply that
// cannot be read, when a job runs past timeoutMs, and after answering when the adapter says its
// state is no longer to be trusted (a parser failure that may have damaged it, a heap grown too
// far). A replacement that cannot start (threads or memory short) is tried again after a pause;
// meanwhile, when no worker is left at all, what waits is failed 'no-worker' instead of waiting
// forever.
//
// Scheduling: jobs wait in one queue and go to idle workers in arrival order, except that large
// jobs (the adapter says which) may occupy at most workers - 1 workers: with two workers one is
// always there for short jobs, which may overtake a waiting large one. With a single worker a
// large job delays everything queued behind it.
import { Worker } from 'node:worker_threads';

/** What a worker posts: one 'ready' when it can take jobs, then one reply per job, carrying the job's id. */
export type WorkerMessage = { type: 'ready' } | { type: string; id: number };

/** The 'ready' message(s) of a worker's protocol. */
export type ReadyMessage<M extends WorkerMessage> = Extract<M, { type: 'ready' }>;
/** The replies of a worker's protocol. */
export type ReplyMessage<M extends WorkerMessage> = Exclude<M, { type: 'ready' }>;

/** Why a job got no answer from a worker. */
export type JobFailure =
  /** The worker running it crashed, exited, or sent a reply that could not be read. */
  | { kind: 'crashed'; reason: string }
  /** It ran past timeoutMs; its worker was terminated. */
  | { kind: 'timeout'; timeoutMs: number }
  /** No worker was left and none could start; `reason` is why the last one did not. */
  | { kind: 'no-worker'; reason: string }
  /** The queue held maxQueue jobs already. */
  | { kind: 'overloaded' }
  /** The pool was closed before it was answered. */
  | { kind: 'closed' };

/** What a job and a reply mean; the pool only moves them. */
export interface WorkerPoolAdapter<Job, Result, M extends WorkerMessage> {
  /** The message posted to a worker to run `job`; the worker answers with a reply carrying `id`. */
  request(job: Job, id: number): unknown;
  /** The job's result from its reply, and whether the worker must be replaced after answering it. */
  answer(job: Job, reply: ReplyMessage<M>): { result: Result; replace?: boolean };
  /** The fail-closed result of a job that got no answer. Whatever it throws rejects the job instead. */
  fail(job: Job, failure: JobFailure): Result;
  /** Sees each worker's 'ready' message (e.g. to keep what the next worker should start with). */
  ready?(message: ReadyMessage<M>): void;
  /** A number each message reports about its worker (e.g. its heap); stats give the largest among live workers. */
  gauge?(message: M): number;
}

/** Options of a WorkerPool; the adapters validate their own and pass them on. */
export interface WorkerPoolOptions {
  /** Names the workers in failure reasons: "the <name> worker exited with code 1". */
  name: string;
  /** The compiled worker script. */
  script: URL;
  /** The workerData of each worker, asked at every start: a replacement may get what an earlier worker produced. */
  workerData?: () => unknown;
  /** Worker threads (at least 1). */
  workers: number;
  /** Longest a worker may take over one job before it is terminated and replaced, in ms (at least 1). */
  timeoutMs: number;
  /** Jobs that may wait for a worker; more are failed 'overloaded' at once (default: no bound). */
  maxQueue?: number;
  /** V8 old-generation limit of each worker, in MiB; a worker over it dies and is replaced. */
  maxOldGenerationMb: number;
  /** Pause before a replacement that failed to start is tried again (default 1000 ms). */
  restartPauseMs?: number;
}

/** Counters for metrics; all but the gauges only grow. */
export interface WorkerPoolStats {
  /** Workers able to take a job now (gauge). */
  workers: number;
  /** Workers running a job now (gauge). */
  busyWorkers: number;
  /** Jobs waiting for a worker (gauge). */
  queueLength: number;
  /** The largest adapter.gauge of a live worker's latest message; 0 without a gauge (gauge). */
  largestGauge: number;
  /** Jobs a worker answered (whatever the answer said). */
  answered: number;
  /** Jobs that ran past timeoutMs. */
  timeouts: number;
  /** Jobs whose worker crashed or exited, or that found no worker able to start. */
  failures: number;
  /** Jobs refused because the queue was full. */
  overloaded: number;
  /** Workers replaced, for any reason. */
  recycles: number;
}

interface Queued<Job, Result> {
  job: Job;
  large: boolean;
  resolve(result: Result): void;
  reject(err: unknown): void;
}

interface Slot<Job, Result> {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'retired';
  gauge: number;
  running?: { id: number; queued: Queued<Job, Result>; timer: NodeJS.Timeout };
  lastError?: Error;
  /** Set while the pool is starting: how the first 'ready' or failure is reported. */
  onReady?: (err?: Error) => void;
  /** A replacement that failed to start is tried again after a pause. */
  restart?: NodeJS.Timeout;
}

/** Worker threads running an adapter's jobs; see the top of worker-pool.ts. */
export class WorkerPool<Job, Result, M extends WorkerMessage> {
  private readonly slots: Slot<Job, Result>[] = [];
  private readonly queue: Queued<Job, Result>[] = [];
  private readonly terminating = new Set<Promise<unknown>>();
  private readonly counters = { answered: 0, timeouts: 0, failures: 0, overloaded: 0, recycles: 0 };
  private readonly started: Promise<void>;
  private readonly maxQueue: number;
  private readonly restartPauseMs: number;
  private nextId = 1;
  private isClosed = false;

  /** Starts every worker at once; whenReady() says when they can all take jobs. */
  constructor(
    private readonly options: WorkerPoolOptions,
    private readonly adapter: WorkerPoolAdapter<Job, Result, M>,
  ) {
    if (!Number.isSafeInteger(options.workers) || options.workers < 1)
      throw new RangeError(`workers must be at least 1, not ${options.workers}`);
    if (!(options.timeoutMs >= 1)) throw new RangeError(`timeoutMs must be at least 1, not ${options.timeoutMs}`);
    this.maxQueue = options.maxQueue ?? Number.POSITIVE_INFINITY;
    this.restartPauseMs = options.restartPauseMs ?? 1000;
    const ready: Promise<void>[] = [];
    for (let i = 0; i < options.workers; i++) {
      const slot = this.spawn();
      this.slots.push(slot);
      ready.push(new Promise((resolve, reject) => (slot.onReady = (err) => (err ? reject(err) : resolve()))));
    }
    this.started = Promise.all(ready).then(() => undefined);
    // Reported by whenReady(); until someone asks, a failed start is not an unhandled rejection.
    this.started.catch(() => undefined);
  }

  /** Resolves when every first worker is ready; when one fails to start, closes the pool and rejects with why. */
  whenReady(): Promise<void> {
    return this.started.catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Runs `job` on the next free worker; `large` jobs never take the last free one. */
  submit(job: Job, large = false): Promise<Result> {
    return new Promise((resolve, reject) => {
      const queued: Queued<Job, Result> = { job, large, resolve, reject };
      if (this.isClosed) return this.settleFailed(queued, { kind: 'closed' });
      if (this.queue.length >= this.maxQueue) {
        this.counters.overloaded++;
        return this.settleFailed(queued, { kind: 'overloaded' });
      }
      this.queue.push(queued);
      this.dispatch();
    });
  }

  stats(): WorkerPoolStats {
    const live = this.slots.filter((s) => s.state === 'idle' || s.state === 'busy');
    return {
      workers: live.length,
      busyWorkers: live.filter((s) => s.state === 'busy').length,
      queueLength: this.queue.length,
      largestGauge: Math.max(0, ...live.map((s) => s.gauge)),
      ...this.counters,
    };
  }

  /** Fails what is pending 'closed' and terminates every worker; resolves when all have exited. Idempotent. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      for (const queued of this.queue.splice(0)) this.settleFailed(queued, { kind: 'closed' });
      for (const slot of this.slots) {
        const running = slot.running;
        this.retire(slot);
        if (running) this.settleFailed(running.queued, { kind: 'closed' });
        slot.onReady?.(new Error(`the ${this.options.name} pool is closed`));
      }
    }
    await Promise.all(this.terminating);
  }

  private settleFailed(queued: Queued<Job, Result>, failure: JobFailure): void {
    try {
      queued.resolve(this.adapter.fail(queued.job, failure));
    } catch (err) {
      queued.reject(err);
    }
  }

  /** Hands queued jobs to idle workers, oldest first, keeping a worker free of large jobs. */
  private dispatch(): void {
    const maxLarge = Math.max(1, this.options.workers - 1);
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.state !== 'idle') continue;
      const busyLarge = this.slots.filter((s) => s.state === 'busy' && s.running?.queued.large).length;
      const index = busyLarge < maxLarge ? 0 : this.queue.findIndex((q) => !q.large);
      if (index < 0) return;
      const [queued] = this.queue.splice(index, 1);
      if (queued) this.run(slot, queued);
    }
  }

  private run(slot: Slot<Job, Result>, queued: Queued<Job, Result>): void {
    const id = this.nextId++;
    const timer = setTimeout(() => this.timedOut(slot), this.options.timeoutMs);
    slot.state = 'busy';
    slot.running = { id, queued, timer };
    slot.worker.postMessage(this.adapter.request(queued.job, id));
  }

  private spawn(): Slot<Job, Result> {
    const worker = new Worker(this.options.script, {
      workerData: this.options.workerData?.(),
      // Inherited flags are meant for the main script, and some make a worker fail to start
      // (node --input-type=module -e ...); the workers need none.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxOldGenerationMb },
    });
    const slot: Slot<Job, Result> = { worker, state: 'starting', gauge: 0 };
    worker.on('message', (msg: M) => this.received(slot, msg));
    // Without a listener a worker's uncaught error would be rethrown on the main thread.
    worker.on('error', (err) => (slot.lastError = err));
    worker.on('messageerror', (err) => {
      slot.lastError = err;
      this.failed(slot, `the reply could not be read: ${err.message}`);
    });
    worker.on('exit', (code) =>
      this.failed(slot, `the ${this.options.name} worker exited with code ${code}${slot.lastError ? ` (${slot.lastError.message})` : ''}`),
    );
    return slot;
  }

  private received(slot: Slot<Job, Result>, msg: M): void {
    if (slot.state === 'retired') return;
    if (this.adapter.gauge) slot.gauge = this.adapter.gauge(msg);
    if (msg.type === 'ready') {
      this.adapter.ready?.(msg as ReadyMessage<M>);
      slot.state = 'idle';
      slot.onReady?.();
      slot.onReady = undefined;
      this.dispatch();
      return;
    }
    const running = slot.running;
    if (running === undefined || running.id !== (msg as { id: number }).id) return;
    clearTimeout(running.timer);
    slot.running = undefined;
    slot.state = 'idle';
    this.counters.answered++;
    const { result, replace } = this.adapter.answer(running.queued.job, msg as ReplyMessage<M>);
    running.queued.resolve(result);
    if (replace) this.replace(slot);
    this.dispatch();
  }

  /** The worker crashed, exited or sent what cannot be read: answer its job, then replace it. */
  private failed(slot: Slot<Job, Result>, reason: string): void {
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
      slot.restart = setTimeout(() => this.respawn(slot), this.restartPauseMs);
      return;
    }
    const running = slot.running;
    if (running !== undefined) {
      clearTimeout(running.timer);
      this.counters.failures++;
      this.settleFailed(running.queued, { kind: 'crashed', reason });
    }
    this.replace(slot);
  }

  private timedOut(slot: Slot<Job, Result>): void {
    const running = slot.running;
    if (running === undefined || slot.state === 'retired') return;
    this.counters.timeouts++;
    this.settleFailed(running.queued, { kind: 'timeout', timeoutMs: this.options.timeoutMs });
    this.replace(slot);
  }

  private replace(slot: Slot<Job, Result>): void {
    this.retire(slot);
    this.respawn(slot);
  }

  private respawn(slot: Slot<Job, Result>): void {
    const index = this.slots.indexOf(slot);
    if (this.isClosed || index < 0) return;
    this.counters.recycles++;
    this.slots[index] = this.spawn();
  }

  /** Stops a worker for good; its exit is awaited by close(). */
  private retire(slot: Slot<Job, Result>): void {
    clearTimeout(slot.restart);
    if (slot.running) clearTimeout(slot.running.timer);
    slot.running = undefined;
    if (slot.state === 'retired') return;
    slot.state = 'retired';
    const exited = slot.worker.terminate().catch(() => undefined);
    this.terminating.add(exited);
    void exited.then(() => this.terminating.delete(exited));
  }

  /** When no worker can run a job, waiting jobs would wait forever: fail them. */
  private failWithoutWorkers(reason: string): void {
    const live = this.slots.some((s) => s.state === 'idle' || s.state === 'busy' || s.state === 'starting');
    if (live) return;
    for (const queued of this.queue.splice(0)) {
      this.counters.failures++;
      this.settleFailed(queued, { kind: 'no-worker', reason });
    }
  }
}
