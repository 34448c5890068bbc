// Shell command lines as bash reads them: what runs, with which options, and what cannot be known.
export {
  analyseCommand,
  MAX_COMMAND_BYTES,
  MAX_NESTED_SHELLS,
  UNKNOWN_REASONS,
  type Redirection,
  type ShellCommand,
  type ShellFacts,
  type UnknownReason,
} from './analyse.js';
export {
  createShellAnalyserPool,
  type AsyncShellAnalyser,
  type ShellAnalyserPoolOptions,
  type ShellAnalyserPoolStats,
} from './analyser-pool.js';
export { shellAnalyserPoolMetrics } from './analyser-pool-metrics.js';
