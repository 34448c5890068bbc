export {
  decide,
  policyInput,
  verdictFields,
  verdictEvent,
  VERDICT_PRODUCER,
  type PolicyCommand,
  type DecideRequest,
  type EngineState,
  type PolicyRule,
  type PolicyState,
  type ClassifiedRequest,
} from './decider.js';
export { minimalPolicy } from './minimal-policy.js';
export {
  compilePolicy,
  policyContentHash,
  type CompileOptions,
  type CompileResult,
  type PolicyError,
  type PolicyFile,
  type PolicyTestCase,
  type SshTestRequest,
  type HttpTestRequest,
  type McpTestRequest,
} from './compile.js';
export { sshInput } from './ssh-input.js';
export { httpInput, isJsonContentType } from './http-input.js';
export { mcpInput, mcpTestInput } from './mcp-input.js';
export { visibleTools } from './mcp-visibility.js';
export { pinRefusal, type PinRefusal } from './mcp-pins.js';
export { forwardTarget } from './ssh-match.js';
export { pathGlob } from './path-glob.js';
export { loadPolicyDir, readPolicyDir } from './loader.js';
export { evaluate, sqlUnits } from './evaluate.js';
export {
  evolveUsage,
  initialUsage,
  retainedEntries,
  rowsOf,
  usageFor,
  usageKey,
  type KeyUsage,
  type UsageCounts,
  type UsageState,
} from './usage.js';
export { runPolicyTests, testInput, DEFAULT_TEST_TIME, type AnalyzeSql, type PolicyTestResult } from './policy-tests.js';
export { POLICY_FILE_SCHEMA } from './policy-schema.js';
export { emptyFacts, CLASS_NAMES, type NameRef, type StatementClass, type StatementFacts, type StatementFlags } from './facts.js';
export type * from './types.js';
