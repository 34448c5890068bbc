// The processor's one seam to the policy library: compiling published files, deciding a
// request with a compiled policy, and keeping guardrail usage. Everything else in the
// processor (the policy feed, live and shadow swaps, the usage window) sees only this.
import type { AuditEvent, AuditEventOf, PolicyFile } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import type { ShellFacts } from '@agentgate/shell';
import {
  compilePolicy,
  decide,
  evolveUsage,
  initialUsage,
  minimalPolicy,
  type CompiledPolicy as Compiled,
  type PolicyState,
  type SqlInput,
  type UsageState,
  type ApprovalSpec,
  verdictEvent,
} from '@agentgate/policy';

/** What the processor read from a request: the parser's kinds (built-in policy) and facts (compiled policies). */
export interface RequestAnalysis {
  classification: { statementKind: string; statementKinds: readonly string[] };
  /** Present for SQL requests. */
  sql?: SqlInput;
  /** Present for SSH exec requests: what the command runs (libs/shell). */
  shell?: ShellFacts;
}

/** Guardrail counts per (identity, connection), folded from the log. */
export type Usage = UsageState;

/** A policy ready to decide. */
export interface LivePolicy {
  /** `<name>@<12 hex>` for published policies; the built-in minimal policy's own version otherwise. */
  readonly version: string;
  /** The longest guardrail window in microseconds; 0 when the policy counts nothing. */
  readonly longestWindowUs: number;
  /** The verdict for one request (chained onto it, not shadow), with usage before it. Pure. */
  decide(request: AuditEventOf<'RequestObserved'>, analysis: RequestAnalysis, usage: Usage): AuditEventOf<'VerdictIssued'>;
  /** The approval an approve rule asks for; null for other rules and unknown ids. */
  approvalSpec(ruleId: string | null): ApprovalSpec | null;
}

/** A publication's files, compiled. */
export interface CompiledPolicy {
  policyName: string;
  contentHash: string;
  policy: LivePolicy;
}

export interface PolicyEngine {
  /** The policy in force until one is published (today's minimal rules). */
  builtIn(): LivePolicy;
  /** Compiles published files (`name` when no file names the policy); throws a GatewayError naming what is wrong. */
  compile(files: readonly PolicyFile[], name: string): CompiledPolicy;
  /** Usage that keeps at least `retentionUs` of history. */
  emptyUsage(retentionUs: number): Usage;
  /** Folds one consumed event (requests count statements, responses rows) into the usage. Pure. */
  evolveUsage(usage: Usage, event: AuditEvent): Usage;
}

function verdictOf(events: AuditEvent[]): AuditEventOf<'VerdictIssued'> {
  const [verdict] = events;
  if (verdict?.eventType !== 'VerdictIssued') throw new GatewayError('AG_ERR_INTERNAL', 'the decider returned no verdict');
  return verdict;
}

function fromState(state: PolicyState): LivePolicy {
  return {
    version: state.version,
    longestWindowUs: 0,
    approvalSpec: () => null,
    decide: (request, analysis) =>
      verdictOf(decide({ type: 'DecideRequest', subject: { request, classification: analysis.classification } }, state)),
  };
}

/**
 * The verdict when a policy cannot evaluate a request (a bug in the policy library, not the
 * request's fault): deny, deterministically, rather than stop deciding for every session.
 */
export function failClosedVerdict(request: AuditEventOf<'RequestObserved'>, version: string): AuditEventOf<'VerdictIssued'> {
  return verdictEvent(request, {
    decision: 'deny',
    policyVersion: version,
    ruleId: null,
    reason: 'the policy could not evaluate this request; denied (fail closed)',
    errorCode: 'AG_ERR_POLICY_DENIED',
    maskingPlan: [],
  });
}

function fromCompiled(policy: Compiled, onError: (err: unknown) => void): LivePolicy {
  const windows = policy.rules.map((r) => (r.kind === 'budget' || r.kind === 'rate' ? r.windowSec * 1_000_000 : 0));
  return {
    version: policy.version,
    longestWindowUs: Math.max(0, ...windows),
    approvalSpec: (ruleId) => policy.rules.find((r) => r.id === ruleId)?.approval ?? null,
    decide(request, analysis, usage) {
      const subject = {
        request,
        classification: analysis.classification,
        ...(analysis.sql ? { sql: analysis.sql } : {}),
        ...(analysis.shell ? { shell: analysis.shell } : {}),
      };
      try {
        return verdictOf(decide({ type: 'DecideRequest', subject }, { policy, usage }));
      } catch (err) {
        onError(err);
        return failClosedVerdict(request, policy.version);
      }
    },
  };
}

/** The engine on @agentgate/policy; `onError` hears of requests a policy could not evaluate (denied). */
export function policyEngine(onError: (err: unknown) => void = () => {}): PolicyEngine {
  return {
    builtIn: () => fromState(minimalPolicy()),
    compile(files, name) {
      const result = compilePolicy(files, { name });
      if (!result.ok) {
        const first = result.errors.slice(0, 3).map((e) => `${e.file}:${e.line}: ${e.message}`);
        throw new GatewayError(
          'AG_ERR_CONFIG_INVALID',
          `the policy does not compile (${result.errors.length} errors): ${first.join('; ')}`,
        );
      }
      return { policyName: result.policy.name, contentHash: result.contentHash, policy: fromCompiled(result.policy, onError) };
    },
    emptyUsage: (retentionUs) => initialUsage(Math.max(retentionUs, 60_000_000)),
    evolveUsage,
  };
}
