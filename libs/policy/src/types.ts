// The compiled policy, what a request looks like to it, and what an evaluation says.
import type { MaskingPlan } from '@agentgate/masking';
import type { ShellFacts } from '@agentgate/shell';
import type { StatementClass, StatementFacts } from './facts.js';

/** What a rule does when it matches. */
export type RuleAction = 'allow' | 'deny' | 'approve' | 'mask';

/** How a list condition is quantified over the elements of a statement. */
export type Quantifier = 'any' | 'only' | 'none';

export interface ListCondition<T> {
  quantifier: Quantifier;
  values: readonly T[];
}

/** A name pattern: globs (`*`, `?`) on schema and name; an absent part matches anything. */
export interface NamePattern {
  schema: string | null;
  name: string | null;
}

export interface IdentityCondition {
  subject?: readonly string[];
  issuer?: readonly string[];
  groups?: { quantifier: 'any' | 'all' | 'none'; values: readonly string[] };
  /** The acting agent: the outermost `act.sub`, or the subject when nobody acts for it. */
  actingAgent?: readonly string[];
  /** Delegated requests only: the subject the agent acts for (globs, or `@set` of principalSets). */
  actingFor?: readonly string[];
  /** Any agent anywhere in the delegation chain. */
  anyActor?: readonly string[];
  delegated?: boolean;
  chainLength?: { min?: number; max?: number };
}

export interface TimeCondition {
  /** 0 = Sunday ... 6 = Saturday */
  days?: readonly number[];
  /** Minutes after midnight, [from, to); from > to wraps past midnight. */
  hours?: { from: number; to: number };
  zone: string;
}

/** Conditions on the request as a whole: who, where, when, over which protocol. */
export interface RequestConditions {
  protocols: readonly string[] | null;
  connection?: readonly string[];
  identity?: IdentityCondition;
  time?: TimeCondition;
}

export interface SqlCondition {
  kinds?: ListCondition<string>;
  classes?: ListCondition<StatementClass>;
  reads?: ListCondition<NamePattern>;
  writes?: ListCondition<NamePattern>;
  locks?: ListCondition<NamePattern>;
  /** reads, writes and locks together. */
  touches?: ListCondition<NamePattern>;
  functions?: ListCondition<NamePattern>;
  flags?: Readonly<Record<string, boolean>>;
  unparseable?: boolean;
  /** Number of statements in the request (a multi-statement string has several). */
  statementCount?: { min?: number; max?: number };
}

/**
 * Conditions on an SSH request (docs/policy.md, "SSH conditions"). The command conditions
 * (program, argv, options, unknown) hold for exec requests only, operation and path for SFTP,
 * forward for direct-tcpip. In an allow rule every command of the request must satisfy the
 * command conditions; in other rules some command must.
 */
export interface SshCondition {
  /** exec, shell, sftp, direct-tcpip (globs). */
  channel?: readonly string[];
  /** Globs on each command's program (after wrappers are peeled off). */
  program?: ListCondition<string>;
  /** argv[i] must match the i-th glob (argv[0]: the program); `**` as the last element matches any remaining arguments. */
  argv?: readonly string[];
  /** Option names (globs) of each command: -rf is r and f, --force is force. */
  options?: ListCondition<string>;
  /** true: only commands the parser could not fully read; false: only commands it could. */
  unknown?: boolean;
  /** SFTP operations (globs). */
  operation?: readonly string[];
  /** SFTP path globs (`*` within a segment, `**` across); path and targetPath are both checked. */
  path?: readonly string[];
  /** direct-tcpip `host:port` globs. */
  forward?: readonly string[];
  /** Names of the environment variables the request may set (globs); in an allow rule absent means none. */
  environment?: readonly string[];
}

/**
 * Conditions on an HTTP request (docs/policy.md, "HTTP conditions"); all must hold. Where a
 * request has several values for one name (a repeated query parameter or header) an allow rule
 * needs every value to match and other rules some value; what the policy cannot read (a path or
 * query it cannot decode, a JSON body it does not have) is covered by no allow rule and matched
 * by every other rule that asks about it.
 */
export interface HttpCondition {
  /** Upper-case method globs (compared with the request's method upper-cased). */
  method?: readonly string[];
  /** Path globs (`*` within a segment, `**` across), on the percent-decoded, normalised path. */
  path?: readonly string[];
  /** Decoded query parameter name (exact) -> glob on its decoded value; the parameter must be present. */
  query?: Readonly<Record<string, string>>;
  /** Lower-case header name -> glob on its value; the header must be present. */
  headers?: Readonly<Record<string, string>>;
  /** RFC 6901 JSON pointer -> glob on the value there (a string as is, anything else as its JSON text). */
  json?: Readonly<Record<string, string>>;
}

/**
 * Conditions on an MCP request (docs/policy.md, "MCP conditions"); all must hold. `tool`,
 * `prompt` and `resource` each confine the rule to the one method that names them. What the
 * policy cannot read (arguments over the audit cap, or not JSON) is covered by no allow rule and
 * matched by every other rule that asks about it, as for HTTP `json`.
 */
export interface McpCondition {
  /** Globs on the JSON-RPC method (tools/call, resources/read, prompts/get, tools/list, ...). */
  method?: readonly string[];
  /** Globs on the tool name; tools/call only. */
  tool?: readonly string[];
  /** Globs on the prompt name; prompts/get only. */
  prompt?: readonly string[];
  /** Globs on the resource URI; resources/read only. */
  resource?: readonly string[];
  /** RFC 6901 JSON pointer into the arguments -> glob on the value there (a string as is, else its JSON text). */
  arguments?: Readonly<Record<string, string>>;
}

export interface ApprovalSpec {
  /** Who may decide: members of any of these groups (globs). */
  groups: readonly string[];
  /** Approvals needed. */
  quorum: number;
  /** When not empty (`quorum: each-group`): one approval from a member of each of these groups. */
  quorumGroups: readonly string[];
  /** How long a request may wait for its approvals, in seconds. */
  expirySec: number;
  /**
   * What an approval grants: `statement`, one execution of the approved statement (same
   * identity, connection, statement and parameters) within `grantSec`; `window`, any statement
   * this rule matches on the connection, for the same identity, for `grantSec`.
   */
  scope: 'statement' | 'window';
  /** How long a grant lasts once approved, in seconds. */
  grantSec: number;
  /** Notification channels of the approval service (deploy/approval-channels.json). */
  notify: readonly string[];
}

interface RuleBase {
  id: string;
  description: string;
  action: RuleAction;
  /** deny: the message the agent sees. */
  message: string | null;
  approval: ApprovalSpec | null;
  /** mask: the masking rule set to apply. */
  masking: string | null;
  when: RequestConditions;
  except: RequestConditions | null;
  /** Where the rule was written: for explanations and error messages. */
  source: { file: string; line: number };
}

export interface AccessRule extends RuleBase {
  kind: 'access';
  sql: SqlCondition | null;
  ssh: SshCondition | null;
  http: HttpCondition | null;
  mcp: McpCondition | null;
}

export interface GuardrailRule extends RuleBase {
  kind: 'budget' | 'rate';
  per: 'actor' | 'subject';
  windowSec: number;
  limits: { statements?: number; rowsRead?: number; rowsWritten?: number };
}

export type CompiledRule = AccessRule | GuardrailRule;

/** A policy, compiled: what evaluate() runs. Immutable. */
export interface CompiledPolicy {
  name: string;
  /** `<name>@<first 12 hex of contentHash>` */
  version: string;
  contentHash: string;
  description: string | null;
  rules: readonly CompiledRule[];
  principalSets: Readonly<Record<string, readonly string[]>>;
  /** Masking rule sets by name (top-level `masking:`), each compiled to a valid masking plan. */
  masking: Readonly<Record<string, MaskingPlan>>;
  /** MCP pins (top-level `mcpPins:`): connection -> tool name -> the fingerprint an administrator approved. */
  mcpPins: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Who is asking (the verified identity; never the token). */
export interface PolicyIdentity {
  subject: string;
  issuer: string;
  groups: readonly string[];
  /** Outermost (current actor) first. */
  actChain: readonly { subject: string; issuer?: string | null }[];
}

export interface SqlInput {
  /** The facts of each statement of the request, or 'unparseable'. */
  statements: readonly StatementFacts[] | 'unparseable';
  /** Facts of the statement(s) an EXECUTE or FETCH runs (its PREPARE or DECLARE), when known. */
  resolved?: readonly StatementFacts[] | 'unparseable' | null;
  /** False once the session changed search_path (SET, set_config, ...): unqualified names are unresolvable. */
  searchPathKnown: boolean;
  /** The role the gateway logged in as on the target (`"$user"` of the default search path). */
  sessionUser?: string | null;
  /** Whether the target has a schema named like sessionUser (default false: then `"$user"` resolves to nothing). */
  userSchemaExists?: boolean;
}

/** An SSH request as the policy sees it (libs/events SshRequest, with the command's shell facts). */
export interface SshInput {
  /** exec, shell, sftp, direct-tcpip. */
  channel: string;
  /** exec: what the command runs (libs/shell analyseCommand); null for other channels, or when not analysed (fail closed). */
  facts: ShellFacts | null;
  operation: string | null;
  path: string | null;
  targetPath: string | null;
  forwardHost: string | null;
  forwardPort: number | null;
  /** Names of the environment variables the agent asked to set. */
  environment: readonly string[];
}

/**
 * The body of an HTTP request as the policy reads it: parsed JSON (`{ json }`), `unreadable`
 * (JSON by its content type, but not recorded, because over the audit cap, or not parseable), or
 * null (no body, or a body that is not JSON by its content type).
 */
export type HttpBody = { json: unknown } | 'unreadable' | null;

/** An HTTP request as the policy sees it (libs/events HttpRequest, its JSON body parsed). */
export interface HttpInput {
  method: string;
  /** The path as received, after /<connection> (percent-encoded; decoded by the matcher). */
  path: string;
  /** The raw query string without `?`, or null. */
  query: string | null;
  /** The recorded (allow-listed) headers, names lower case. */
  headers: readonly { name: string; value: string }[];
  contentType: string | null;
  body: HttpBody;
}

/**
 * The arguments of an MCP request as the policy reads them: parsed JSON (`{ json }`),
 * `unreadable` (recorded null past the audit cap, or not JSON), or null (the request had none).
 */
export type McpArguments = { json: unknown } | 'unreadable' | null;

/** An MCP request as the policy sees it (libs/events McpRequest, its arguments parsed). */
export interface McpInput {
  /** The JSON-RPC method: tools/call, resources/read, prompts/get, tools/list, sampling/createMessage, ... */
  method: string;
  /** tools/call: the tool; prompts/get: the prompt. */
  name: string | null;
  /** resources/read: the resource's URI. */
  uri: string | null;
  arguments: McpArguments;
  /** tools/call: the tool's fingerprint as the server describes it now; null when the server does not list it. */
  toolFingerprint: string | null;
  /** tools/list: every tool the server offers, with its fingerprint. */
  tools: readonly { name: string; fingerprint: string }[];
}

/** One request, as the policy sees it. `protocol` picks which of sql/ssh/http/mcp is read. */
export interface PolicyInput {
  protocol: string;
  connection: string | null;
  identity: PolicyIdentity | null;
  /** The request's time (microseconds since the epoch): the policy's only clock. */
  timeUs: number;
  sql?: SqlInput;
  ssh?: SshInput;
  http?: HttpInput;
  mcp?: McpInput;
}

export type Decision = 'allow' | 'deny' | 'approve' | 'mask';

/** One rule that matched, and on what. */
export interface RuleMatch {
  ruleId: string;
  action: RuleAction;
  /** The statement (index into the evaluated units) it matched; null for request-level rules. */
  statement: number | null;
  /** True when the rule matched only because an unqualified name could not be resolved. */
  failClosed: boolean;
  reason: string;
}

/** The decision on one statement of the request. */
export interface StatementDecision {
  index: number;
  kind: string;
  decision: Decision;
  ruleId: string | null;
  reason: string;
}

/** What evaluate() found: the decision, the rule that decided it, and every rule that matched. */
export interface Evaluation {
  decision: Decision;
  policyVersion: string;
  /** The winning rule; null when the default decided (deny; allow for an MCP tools/list), or the MCP pins refused. */
  ruleId: string | null;
  reason: string;
  matches: readonly RuleMatch[];
  statements: readonly StatementDecision[];
  approval: (ApprovalSpec & { ruleId: string }) | null;
  /**
   * The masking rule sets of every mask rule that matched a statement this request may run
   * (decided allow, or approve), in rule order; empty when the request is denied. Non-empty
   * with decision 'mask' (or 'approve': the plan waits with the request).
   */
  masking: readonly string[];
  /**
   * The error code a denial carries when it is not a plain policy denial (the MCP pin checks:
   * AG_ERR_MCP_SERVER_UNAPPROVED, AG_ERR_MCP_TOOL_UNAPPROVED, AG_ERR_MCP_TOOL_CHANGED).
   */
  errorCode?: string;
}
