// Messages between the shell analyser pool (main thread) and an analyser worker. A command goes
// in as its text; its facts come back structured-cloned: they are small, flat and plain (strings,
// booleans, arrays), so the clone is the same value analyseCommand returns inline.
import type { ShellFacts } from './analyse.js';

/**
 * Faults a test can ask a worker to commit instead of analysing. Internal: the pool exposes them
 * only through ShellAnalyserPool.analyseWithFault, never through the package entry.
 *   hang  the worker never answers (a parse stuck in a loop); only terminate() ends it
 *   exit  the worker thread exits mid-request, as after a crash
 */
export type AnalyserFault = 'hang' | 'exit';

export interface AnalyseRequest {
  id: number;
  command: string;
  fault?: AnalyserFault;
}

export type AnalyserMessage = { type: 'ready' } | { type: 'analysed'; id: number; facts: ShellFacts };
