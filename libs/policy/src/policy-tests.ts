// Policy tests: the cases kept beside the rules (`tests:` in any policy file), run against
// the compiled policy. SQL is analysed by an injected function (the CLI passes libs/sql's
// parser and statementFacts), so this module stays pure.
import type { PolicyTestCase } from './compile.js';
import { evaluate } from './evaluate.js';
import type { StatementFacts } from './facts.js';
import { verdictFields } from './decider.js';
import { httpTestInput } from './http-input.js';
import { mcpTestInput } from './mcp-input.js';
import { sshTestInput } from './ssh-input.js';
import type { CompiledPolicy, Evaluation, PolicyInput } from './types.js';

/** SQL text -> the facts of each statement, or 'unparseable'. */
export type AnalyzeSql = (sql: string) => StatementFacts[] | 'unparseable';

export interface PolicyTestResult {
  name: string;
  pass: boolean;
  source: { file: string; line: number };
  expected: { decision: string; rule?: string | null; masking?: string[]; visibleTools?: string[]; errorCode?: string | null };
  actual: {
    decision: string;
    rule: string | null;
    reason: string;
    masking: readonly string[];
    /** MCP tools/list: what the verdict would show; [] for anything else. */
    visibleTools: readonly string[];
    /** What the verdict would carry (AG_ERR_*), null when allowed. */
    errorCode: string | null;
  };
  evaluation: Evaluation;
}

/** Monday 2026-01-05 12:00 UTC: the time of a test case that gives none. */
export const DEFAULT_TEST_TIME = '2026-01-05T12:00:00Z';

/**
 * The PolicyInput a test case describes. `mcpPins` (the policy's) give an MCP case's default
 * fingerprints (mcpTestInput).
 */
export function testInput(t: PolicyTestCase, analyze: AnalyzeSql, mcpPins: CompiledPolicy['mcpPins'] = new Map()): PolicyInput {
  const protocol = t.protocol ?? (t.ssh ? 'ssh' : t.http ? 'http' : t.mcp ? 'mcp' : 'postgres');
  const id = t.identity;
  const identity = id
    ? id.actingFor !== undefined
      ? {
          subject: id.actingFor,
          issuer: id.issuer ?? 'test',
          groups: id.groups ?? [],
          actChain: [id.subject, ...(id.via ?? [])].map((subject) => ({ subject })),
        }
      : {
          subject: id.subject,
          issuer: id.issuer ?? 'test',
          groups: id.groups ?? [],
          actChain: (id.via ?? []).map((subject) => ({ subject })),
        }
    : null;
  const input: PolicyInput = {
    protocol,
    connection: t.connection ?? null,
    identity,
    timeUs: Date.parse(t.time ?? DEFAULT_TEST_TIME) * 1000,
  };
  if (protocol === 'postgres') {
    input.sql = {
      statements: t.sql === undefined ? 'unparseable' : analyze(t.sql),
      resolved: t.resolvedSql === undefined ? null : analyze(t.resolvedSql),
      searchPathKnown: t.searchPathKnown ?? true,
      sessionUser: t.sessionUser ?? null,
      userSchemaExists: t.userSchemaExists ?? false,
    };
  }
  if (t.ssh) input.ssh = sshTestInput(t.ssh);
  if (t.http) input.http = httpTestInput(t.http);
  if (t.mcp) input.mcp = mcpTestInput(t.mcp, input.connection, mcpPins);
  return input;
}

/**
 * Runs every test case; a case passes when the decision is as expected, and so are the deciding
 * rule, the masking rule sets (in order), the visible tools (in any order) and the verdict's error
 * code when the case names them.
 */
export function runPolicyTests(policy: CompiledPolicy, tests: readonly PolicyTestCase[], analyze: AnalyzeSql): PolicyTestResult[] {
  return tests.map((t) => {
    const input = testInput(t, analyze, policy.mcpPins);
    const evaluation = evaluate(policy, input);
    const fields = verdictFields(evaluation, policy, input);
    const ruleOk = t.expect.rule === undefined || t.expect.rule === evaluation.ruleId;
    const masking = t.expect.masking;
    const maskingOk =
      masking === undefined || (masking.length === evaluation.masking.length && masking.every((m, i) => m === evaluation.masking[i]));
    const visible = t.expect.visibleTools;
    const sorted = (xs: readonly string[]): string => JSON.stringify([...xs].sort());
    const visibleOk = visible === undefined || sorted(visible) === sorted(fields.visibleTools);
    const codeOk = t.expect.errorCode === undefined || t.expect.errorCode === fields.errorCode;
    return {
      name: t.name,
      pass: evaluation.decision === t.expect.decision && ruleOk && maskingOk && visibleOk && codeOk,
      source: t.source,
      expected: t.expect,
      actual: {
        decision: evaluation.decision,
        rule: evaluation.ruleId,
        reason: evaluation.reason,
        masking: evaluation.masking,
        visibleTools: fields.visibleTools,
        errorCode: fields.errorCode,
      },
      evaluation,
    };
  });
}
