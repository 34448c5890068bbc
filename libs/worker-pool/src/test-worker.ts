// A worker for worker-pool.test.ts only: it runs what the request says (echo a value, block for a
// while, never answer, throw, exit) so that the pool's scheduling and recovery can be watched
// without a real parser. Started by the tests from the compiled file next to it.
import { parentPort, workerData } from 'node:worker_threads';

/** What a test worker starts with. */
export interface TestWorkerData {
  /** Names this worker in every message, so a test can tell a replacement from the first. */
  tag: string;
  /** Throw before 'ready': a worker that cannot start. */
  failStart?: boolean;
}

/** What the test asks a worker to do with one job. */
export type TestCommand =
  | { op: 'echo'; value: string }
  /** Blocks the thread for `ms` (as a long parse does), then echoes. */
  | { op: 'block'; ms: number; value: string }
  /** Never answers; only terminate() ends it. */
  | { op: 'hang' }
  /** An uncaught exception ends the worker. */
  | { op: 'throw' }
  /** The thread exits mid-job. */
  | { op: 'exit' };

export interface TestRequest {
  id: number;
  command: TestCommand;
}

export type TestMessage =
  | { type: 'ready'; tag: string; answered: number }
  /** `answered` counts this worker's answers, this one included: the gauge of the tests. */
  | { type: 'done'; id: number; tag: string; value: string; answered: number };

const port = parentPort;
if (!port) throw new Error('test-worker.js runs as a worker thread of a WorkerPool');
const data = workerData as TestWorkerData;
if (data.failStart) throw new Error(`worker ${data.tag} was told not to start`);

let answered = 0;
port.on('message', ({ id, command }: TestRequest) => {
  switch (command.op) {
    case 'echo':
      break;
    case 'block':
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, command.ms);
      break;
    case 'hang':
      for (;;) Math.random();
    case 'throw':
      throw new Error('injected test worker fault');
    case 'exit':
      process.exit(70);
      break;
    default: {
      const never: never = command;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
  answered++;
  port.postMessage({ type: 'done', id, tag: data.tag, value: command.value, answered } satisfies TestMessage);
});
port.postMessage({ type: 'ready', tag: data.tag, answered } satisfies TestMessage);
