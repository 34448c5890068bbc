// The policy decider: decide(command, state) -> events. Pure: the ids and the SQL
// classification come in with the command; no I/O, no Date.now(), no randomness.
// Deterministic: a verdict is a function of its request and the policy alone. Its time is
// the request's time and its producer the service, never the deciding instance or its
// clock, so a request re-decided after a restart, by any instance, yields the same bytes
// (same canonical text, same hash) as the verdict it replaces.
import {
  chainEvent,
  derivedEventId,
  nextLink,
  type AuditEvent,
  type AuditEventOf,
  type Decision,
  type VerdictIssued,
} from '@agentgate/events';
import type { ShellFacts } from '@agentgate/shell';
import { evaluate } from './evaluate.js';
import { httpInput } from './http-input.js';
import { mcpInput } from './mcp-input.js';
import { visibleTools } from './mcp-visibility.js';
import { verdictMaskingRules } from './masking-sets.js';
import { sshInput } from './ssh-input.js';
import type { CompiledPolicy, Evaluation, PolicyInput, SqlInput } from './types.js';
import type { UsageState } from './usage.js';

/** What the policy sees of a request. */
export interface ClassifiedRequest {
  request: AuditEventOf<'RequestObserved'>;
  classification: { statementKind: string; statementKinds: readonly string[] };
  /**
   * For the compiled policy: the facts of each statement (libs/sql statementFacts), of what an
   * EXECUTE/FETCH runs (`resolved`), and what the session knows of its search_path. Without it
   * a SQL request is judged unparseable (fail closed).
   */
  sql?: SqlInput;
  /**
   * SSH exec: what the command runs (libs/shell analyseCommand of the request's command), as the
   * processor computed it; analysed from the request when absent.
   */
  shell?: ShellFacts;
}

export interface PolicyRule {
  id: string;
  description: string;
  decision: Decision;
  matches(request: ClassifiedRequest): boolean;
}

/** The minimal, hard-coded rule set's state (minimal-policy.ts); kept until the processor switches. */
export interface PolicyState {
  version: string;
  /** Evaluated in order; the first match decides. */
  rules: readonly PolicyRule[];
  defaultDecision: 'allow' | 'deny';
}

/** The policy engine's state: a compiled policy and the usage its guardrails count. */
export interface EngineState {
  policy: CompiledPolicy;
  /** Usage before the request being decided (the processor folds the request in afterwards). */
  usage: UsageState;
  /** Verdicts of a shadow policy are recorded, never enforced. */
  shadow?: boolean;
}

export interface DecideRequest {
  type: 'DecideRequest';
  subject: ClassifiedRequest;
}

/** The `producer` of every verdict: the service that decides, not an instance of it (see above). */
export const VERDICT_PRODUCER = 'policy-processor';

export type PolicyCommand = DecideRequest;

/** Decides a command against the policy; returns the events to append (one verdict per request). */
export function decide(command: PolicyCommand, state: PolicyState | EngineState): AuditEvent[] {
  switch (command.type) {
    case 'DecideRequest':
      return ['policy' in state ? decideWithPolicy(command, state) : decideRequest(command, state)];
    default: {
      const unknown: never = command.type;
      throw new Error(`unknown command ${String(unknown)}`);
    }
  }
}

function decideRequest(command: DecideRequest, state: PolicyState): AuditEventOf<'VerdictIssued'> {
  const { request } = command.subject;
  const rule = state.rules.find((r) => r.matches(command.subject));
  const decision: Decision = rule?.decision ?? state.defaultDecision;
  const reason = rule ? `${rule.id}: ${rule.description}` : `no rule matched; policy default is ${state.defaultDecision}`;
  return verdictEvent(request, {
    decision,
    policyVersion: state.version,
    ruleId: rule?.id ?? null,
    reason,
    errorCode: decision === 'deny' ? 'AG_ERR_POLICY_DENIED' : null,
    maskingPlan: [],
  });
}

/**
 * The VerdictIssued that answers `request`, chained directly onto it. Deterministic (see the
 * top of this file): its id derives from the request's, its time is the request's and its
 * producer the service, so re-deciding yields the same bytes.
 */
export function verdictEvent(
  request: AuditEventOf<'RequestObserved'>,
  fields: Pick<VerdictIssued, 'decision' | 'policyVersion' | 'ruleId' | 'reason' | 'errorCode' | 'maskingPlan'> &
    Partial<Pick<VerdictIssued, 'visibleTools'>>,
  shadow = false,
): AuditEventOf<'VerdictIssued'> {
  const { visibleTools = [], ...decided } = fields;
  return chainEvent(
    {
      eventId: derivedEventId(request.eventId, shadow ? 'shadow-verdict' : 'verdict'),
      eventType: 'VerdictIssued',
      sessionId: request.sessionId,
      // The request's time, not the processor's clock: re-deciding must not change it.
      timeUs: request.timeUs,
      producer: VERDICT_PRODUCER,
      traceId: request.traceId,
      actor: request.actor,
      payload: {
        requestId: request.payload.requestId,
        ...decided,
        approvalId: null,
        statementDigest: null,
        shadow,
        requestTimeUs: request.timeUs,
        visibleTools,
      },
    },
    nextLink(request),
  );
}

/** The request as the compiled policy sees it. */
export function policyInput(subject: ClassifiedRequest): PolicyInput {
  const { request } = subject;
  const a = request.actor;
  const detail = request.payload.detail;
  const input: PolicyInput = {
    protocol: request.payload.protocol,
    connection: request.payload.connection,
    identity: a ? { subject: a.subject, issuer: a.issuer, groups: a.groups, actChain: a.actChain } : null,
    timeUs: request.timeUs,
  };
  switch (detail.kind) {
    case 'sql':
      input.sql = subject.sql ?? { statements: 'unparseable', searchPathKnown: true };
      break;
    case 'ssh':
      input.ssh = sshInput(detail, subject.shell);
      break;
    case 'http':
      input.http = httpInput(detail);
      break;
    case 'mcp':
      input.mcp = mcpInput(detail);
      break;
    default: {
      const never: never = detail;
      throw new Error(`unknown request detail ${String((never as { kind: string }).kind)}`);
    }
  }
  return input;
}

/**
 * How an evaluation of `policy` is written into a verdict: approve waits for approval, mask
 * allows with a plan. The plan is the merge of the evaluation's masking rule sets in order
 * (`mergeMaskingPlans`), encoded with `toVerdictRules` (libs/masking); a pending approval
 * carries it too, so what is granted later is the masked request. A denial carries none, and
 * the evaluation's own error code when it has one (the MCP pins), else AG_ERR_POLICY_DENIED.
 * An allowed MCP tools/list carries the tools the agent may see (`visibleTools`, given the
 * evaluated `input`); every other verdict carries none.
 */
export function verdictFields(
  e: Evaluation,
  policy: CompiledPolicy,
  input?: PolicyInput,
): Pick<VerdictIssued, 'decision' | 'ruleId' | 'reason' | 'errorCode' | 'maskingPlan' | 'visibleTools'> {
  const decision: Decision = e.decision === 'approve' ? 'pending_approval' : e.decision === 'mask' ? 'allow' : e.decision;
  const maskingPlan = decision === 'deny' ? [] : verdictMaskingRules(policy, e.masking);
  const errorCode = decision === 'allow' ? null : (e.errorCode ?? 'AG_ERR_POLICY_DENIED');
  const shown = decision === 'allow' && input !== undefined ? visibleTools(policy, input) : [];
  return { decision, ruleId: e.ruleId, reason: e.reason, errorCode, maskingPlan, visibleTools: shown };
}

function decideWithPolicy(command: DecideRequest, state: EngineState): AuditEventOf<'VerdictIssued'> {
  const input = policyInput(command.subject);
  const evaluation = evaluate(state.policy, input, state.usage);
  return verdictEvent(
    command.subject.request,
    { ...verdictFields(evaluation, state.policy, input), policyVersion: state.policy.version },
    state.shadow ?? false,
  );
}
