// The CLI's one seam to the policy library: load a policy directory, compile it, run the tests
// kept beside its rules, and evaluate a recorded request with it (replay). publish and replay
// see only this. SQL is analysed with libs/sql's synchronous parser and statement facts, as the
// policy tests expect; the processor reaches the same facts through its parser pool.
import { basename, resolve } from 'node:path';
import type { AuditEventOf, PolicyFile } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import {
  compilePolicy,
  evaluate,
  policyInput,
  readPolicyDir as readPolicyFiles,
  runPolicyTests,
  verdictFields,
  type AnalyzeSql,
  type SqlInput,
} from '@agentgate/policy';
import { loadSqlParser, type SqlClassification, type StatementFacts } from '@agentgate/sql';

/** One failed policy test, where it is written and what came out instead. */
export interface PolicyTestFailure {
  name: string;
  message: string;
}

/** What a session's history says about a request (replay tracks it in recorded order). */
export interface SessionView {
  searchPathKnown: boolean;
  sessionUser: string | null;
}

/** A candidate policy's verdict on a request, as the processor would record it. */
export interface CandidateVerdict {
  decision: string;
  ruleId: string | null;
  reason: string;
  /** Facts of what the request runs (for the session's search-path tracking). */
  facts: readonly StatementFacts[];
}

/** A compiled candidate policy. */
export interface CandidatePolicy {
  name: string;
  version: string;
  contentHash: string;
  files: PolicyFile[];
  testCount: number;
  failures: PolicyTestFailure[];
  /** Decides a recorded request as the processor would, without guardrail usage (see replay's limits). */
  evaluate(request: AuditEventOf<'RequestObserved'>, session: SessionView): CandidateVerdict;
}

/** The files of a policy directory, as the policy library's loader reads them. */
export async function readPolicyDir(dir: string): Promise<PolicyFile[]> {
  let files: PolicyFile[];
  try {
    files = await readPolicyFiles(dir);
  } catch (cause) {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `cannot read the policy directory ${dir} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause,
      },
    );
  }
  if (files.length === 0) throw new GatewayError('AG_ERR_CONFIG_INVALID', `no policy files (*.yaml) in ${dir}`);
  return files;
}

const factsOf = (c: SqlClassification): StatementFacts[] | 'unparseable' => (c.ok ? c.statements.map((s) => s.facts) : 'unparseable');

/** Loads, compiles and tests the policy in `dir`; throws AG_ERR_CONFIG_INVALID when it does not compile. */
export async function loadCandidate(dir: string): Promise<CandidatePolicy> {
  const files = await readPolicyDir(dir);
  const result = compilePolicy(files, { name: basename(resolve(dir)) });
  if (!result.ok) {
    const lines = result.errors.map((e) => `  ${e.file}:${e.line}: ${e.message}`);
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `the policy in ${dir} does not compile:\n${lines.join('\n')}`);
  }
  const parser = await loadSqlParser();
  const analyze: AnalyzeSql = (sql) => factsOf(parser.classify(sql));
  const failures = runPolicyTests(result.policy, result.tests, analyze)
    .filter((t) => !t.pass)
    .map((t) => ({
      name: `${t.name} (${t.source.file}:${t.source.line})`,
      message: `expected ${t.expected.decision}${t.expected.rule ? ` by ${t.expected.rule}` : ''}${t.expected.masking ? ` masking [${t.expected.masking.join(', ')}]` : ''}, got ${t.actual.decision} by ${t.actual.rule ?? 'the default'}${t.expected.masking ? ` masking [${t.actual.masking.join(', ')}]` : ''}: ${t.actual.reason}`,
    }));
  const policy = result.policy;
  return {
    name: policy.name,
    version: policy.version,
    contentHash: result.contentHash,
    files,
    testCount: result.tests.length,
    failures,
    evaluate(request, session) {
      const detail = request.payload.detail;
      let sql: SqlInput | undefined;
      let facts: StatementFacts[] = [];
      let classification: { statementKind: string; statementKinds: string[] } = { statementKind: 'NOT_SQL', statementKinds: [] };
      if (detail.kind === 'sql') {
        // A capped statement's prefix does not parse: unparseable, as in the processor.
        const own = detail.fullTextBytes === null ? parser.classify(detail.text) : undefined;
        const resolved = detail.resolvedText ? parser.classify(detail.resolvedText) : undefined;
        const statements = own ? factsOf(own) : 'unparseable';
        const resolvedFacts = resolved ? factsOf(resolved) : null;
        sql = { statements, resolved: resolvedFacts, searchPathKnown: session.searchPathKnown, sessionUser: session.sessionUser };
        facts = [...(statements === 'unparseable' ? [] : statements), ...(Array.isArray(resolvedFacts) ? resolvedFacts : [])];
        classification = { statementKind: detail.statementKind, statementKinds: [...detail.statementKinds] };
      }
      try {
        const fields = verdictFields(evaluate(policy, policyInput({ request, classification, ...(sql ? { sql } : {}) })), policy);
        return { decision: fields.decision, ruleId: fields.ruleId, reason: fields.reason, facts };
      } catch (err) {
        // As the processor does: a request the policy cannot evaluate is denied (fail closed).
        return { decision: 'deny', ruleId: null, reason: `the policy could not evaluate this request: ${(err as Error).message}`, facts };
      }
    },
  };
}
