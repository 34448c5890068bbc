// Worker threads for work that must not block the event loop, failing closed: see worker-pool.ts.
export {
  WorkerPool,
  type JobFailure,
  type ReadyMessage,
  type ReplyMessage,
  type WorkerMessage,
  type WorkerPoolAdapter,
  type WorkerPoolOptions,
  type WorkerPoolStats,
} from './worker-pool.js';
