// Policy as code: YAML files -> a validated, immutable CompiledPolicy. Pure: the files' texts
// come in (the processor receives them inside a Kafka event); loader.ts reads a directory.
// Every error names the file, the line and what was expected.
import { createHash } from 'node:crypto';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { MaskingPlan } from '@agentgate/masking';
import type { StatementClass } from './facts.js';
import { MCP_CONDITION_METHODS } from './mcp-match.js';
import { anyGlob } from './names.js';
import { compileMaskingSet, MAX_POLICY_COLUMN_RULES, type RawMaskingSet } from './masking-sets.js';
import { POLICY_FILE_SCHEMA } from './policy-schema.js';
import type {
  AccessRule,
  ApprovalSpec,
  CompiledPolicy,
  CompiledRule,
  GuardrailRule,
  HttpCondition,
  IdentityCondition,
  McpCondition,
  ListCondition,
  NamePattern,
  Quantifier,
  RequestConditions,
  RuleAction,
  SqlCondition,
  SshCondition,
  TimeCondition,
} from './types.js';

export interface PolicyFile {
  name: string;
  text: string;
}

export interface PolicyError {
  file: string;
  line: number;
  message: string;
}

/** An SSH request in a test case; the channel defaults from what is given (command: exec, operation: sftp, forward: direct-tcpip). */
export interface SshTestRequest {
  channel?: string;
  /** exec: the command line, analysed with libs/shell as the processor does. */
  command?: string;
  operation?: string;
  path?: string;
  targetPath?: string;
  /** direct-tcpip: `host:port`. */
  forward?: string;
  environment?: string[];
}

/** An HTTP request in a test case (the path after /<connection>, as the agent sends it). */
export interface HttpTestRequest {
  method: string;
  path: string;
  /** The raw query string (without `?`), or a map of parameters (form-encoded). */
  query?: string | Record<string, string>;
  headers?: Record<string, string>;
  /** The raw body when a string, else any YAML value, sent as its JSON text. */
  body?: unknown;
  /** Default: the content-type header, else application/json when there is a body. */
  contentType?: string;
}

/**
 * An MCP request in a test case (docs/policy.md, "MCP conditions"); see mcpTestInput for the
 * defaults (method from what is given, fingerprints from the pins).
 */
export interface McpTestRequest {
  method?: string;
  tool?: string;
  prompt?: string;
  resource?: string;
  /** The raw JSON text when a string, else any value, sent as its JSON text. */
  arguments?: unknown;
  /** tools/call: the tool's current fingerprint; default its pin; null: the server does not list it. */
  fingerprint?: string | null;
  /** tools/list: the tools offered (a name alone: as pinned); default every tool pinned on the connection. */
  tools?: (string | { name: string; fingerprint: string })[];
}

/** A test case kept beside the rules (tests: in any policy file). */
export interface PolicyTestCase {
  name: string;
  identity?: { subject: string; issuer?: string; groups?: string[]; actingFor?: string; via?: string[] };
  connection?: string;
  protocol?: string;
  sql?: string;
  resolvedSql?: string;
  searchPathKnown?: boolean;
  sessionUser?: string;
  userSchemaExists?: boolean;
  time?: string;
  ssh?: SshTestRequest;
  http?: HttpTestRequest;
  mcp?: McpTestRequest;
  expect: {
    decision: 'allow' | 'deny' | 'approve' | 'mask';
    rule?: string | null;
    masking?: string[];
    /** MCP tools/list: the tools the verdict shows the agent, in any order. */
    visibleTools?: string[];
    /** The error code the verdict carries (null: none, the request is allowed). */
    errorCode?: string | null;
  };
  source: { file: string; line: number };
}

export type CompileResult =
  | { ok: true; policy: CompiledPolicy; tests: PolicyTestCase[]; contentHash: string }
  | { ok: false; errors: PolicyError[] };

export interface CompileOptions {
  /** The policy's name when no file sets `policy:` (the loader passes the directory's name). */
  name?: string;
}

// ajv 7 is CommonJS: under NodeNext its class is the module's default export's default.
const Ajv = AjvModule.default;
let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  if (!validator) validator = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(POLICY_FILE_SCHEMA);
  return validator;
}

/** SHA-256 over the files' names and texts, sorted by name, each length-prefixed. */
export function policyContentHash(files: readonly PolicyFile[]): string {
  const h = createHash('sha256');
  for (const f of sortFiles(files)) {
    h.update(`${Buffer.byteLength(f.name)}:${f.name}\n${Buffer.byteLength(f.text)}:`);
    h.update(f.text);
    h.update('\n');
  }
  return h.digest('hex');
}

function sortFiles(files: readonly PolicyFile[]): PolicyFile[] {
  return [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface ParsedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  value: PolicyFileValue;
}

interface PolicyFileValue {
  policy?: string;
  description?: string;
  principalSets?: Record<string, string[]>;
  masking?: Record<string, RawMaskingSet>;
  mcpPins?: Record<string, Record<string, string>>;
  rules?: RawRule[];
  tests?: Omit<PolicyTestCase, 'source'>[];
}

type RawList<T> = T[] | { any?: T[]; only?: T[]; none?: T[] };
type RawName = string | { schema?: string; name?: string };
interface RawRequestConditions {
  protocol?: string[];
  connection?: string[];
  identity?: {
    subject?: string[];
    issuer?: string[];
    groups?: string[] | { any?: string[]; all?: string[]; none?: string[] };
    actingAgent?: string[];
    actingFor?: string[];
    anyActor?: string[];
    delegated?: boolean;
    chainLength?: { min?: number; max?: number };
  };
  time?: { days?: string[]; hours?: string; zone?: string };
}
interface RawSsh {
  channel?: string[];
  program?: RawList<string>;
  argv?: string[];
  options?: RawList<string>;
  unknown?: boolean;
  operation?: string[];
  path?: string[];
  forward?: string[];
  environment?: string[];
}
interface RawHttp {
  method?: string[];
  path?: string[];
  query?: Record<string, string>;
  headers?: Record<string, string>;
  json?: Record<string, string>;
}
interface RawMcp {
  method?: string[];
  tool?: string[];
  prompt?: string[];
  resource?: string[];
  arguments?: Record<string, string>;
}
interface RawRule {
  id: string;
  description: string;
  kind?: 'access' | 'budget' | 'rate';
  match?: RawRequestConditions & {
    sql?: {
      kinds?: RawList<string>;
      classes?: RawList<StatementClass>;
      reads?: RawList<RawName>;
      writes?: RawList<RawName>;
      locks?: RawList<RawName>;
      touches?: RawList<RawName>;
      functions?: RawList<RawName>;
      flags?: Record<string, boolean>;
      unparseable?: boolean;
      statementCount?: { min?: number; max?: number };
    };
    ssh?: RawSsh;
    http?: RawHttp;
    mcp?: RawMcp;
  };
  except?: RawRequestConditions;
  action: RuleAction;
  message?: string;
  approval?: {
    groups: string[];
    quorum?: number | 'each-group';
    expiry?: string;
    grant?: string;
    scope?: 'statement' | 'window';
    notify?: string[];
  };
  masking?: string;
  per?: 'actor' | 'subject';
  window?: string;
  limits?: { statements?: number; rowsRead?: number; rowsWritten?: number };
}

/** Compiles policy files (pure). Files are read in name order; rules keep their order within each. */
export function compilePolicy(files: readonly PolicyFile[], options: CompileOptions = {}): CompileResult {
  const errors: PolicyError[] = [];
  const parsed: ParsedFile[] = [];
  const sorted = sortFiles(files);
  if (sorted.length === 0) return { ok: false, errors: [{ file: '(none)', line: 0, message: 'a policy needs at least one file' }] };
  for (const { name, text } of sorted) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        errors.push({ file: name, line: lines.linePos(e.pos[0]).line, message: `YAML: ${e.message.split('\n')[0]}` });
      continue;
    }
    const value = (doc.toJS() ?? {}) as unknown;
    const check = validate();
    if (!check(value)) {
      errors.push(...schemaErrors(name, doc, lines, check.errors ?? []));
      continue;
    }
    parsed.push({ file: name, doc, lines, value: value as PolicyFileValue });
  }
  if (errors.length > 0) return { ok: false, errors };

  // Merge: one name, one set of principal sets, rule ids unique across files.
  let policyName: string | undefined;
  let description: string | null = null;
  const principalSets: Record<string, string[]> = {};
  for (const p of parsed) {
    if (p.value.policy !== undefined) {
      if (policyName !== undefined && policyName !== p.value.policy)
        errors.push({ file: p.file, line: lineOf(p, ['policy']), message: `policy is named "${policyName}" in another file` });
      policyName = p.value.policy;
    }
    if (p.value.description !== undefined) description = p.value.description;
    for (const [set, members] of Object.entries(p.value.principalSets ?? {})) {
      if (principalSets[set])
        errors.push({ file: p.file, line: lineOf(p, ['principalSets', set]), message: `principal set "${set}" is defined twice` });
      principalSets[set] = members;
    }
  }
  // Masking rule sets: one namespace across files, each compiled to a plan here, so a policy
  // that compiles only ever sends plans the masking library accepts.
  const masking: Record<string, MaskingPlan> = {};
  const definedIn = new Map<string, string>();
  let columnRules = 0;
  for (const p of parsed) {
    for (const [set, raw] of Object.entries(p.value.masking ?? {})) {
      const at = (path: (string | number)[] = []): number => lineOf(p, ['masking', set, ...path]);
      const where = definedIn.get(set);
      if (where !== undefined) {
        errors.push({ file: p.file, line: at(), message: `masking rule set "${set}" is already defined in ${where}` });
        continue;
      }
      definedIn.set(set, `${p.file}:${at()}`);
      const plan = compileMaskingSet(raw, (message, path) =>
        errors.push({ file: p.file, line: at(path), message: `masking.${[set, ...path].join('.')}: ${message}` }),
      );
      if (plan) masking[set] = plan;
      columnRules += raw.columns?.length ?? 0;
      if (columnRules > MAX_POLICY_COLUMN_RULES)
        errors.push({
          file: p.file,
          line: at(['columns']),
          message: `masking.${set}.columns: more than ${MAX_POLICY_COLUMN_RULES} column rules over all masking rule sets`,
        });
    }
  }
  // MCP pins: one entry per connection across files, so no file silently re-approves a server
  // another file pinned (the pins file is generated; rules and tests are written by hand).
  const mcpPins = new Map<string, ReadonlyMap<string, string>>();
  const pinnedIn = new Map<string, string>();
  for (const p of parsed) {
    for (const [connection, tools] of Object.entries(p.value.mcpPins ?? {})) {
      const line = lineOf(p, ['mcpPins', connection]);
      const where = pinnedIn.get(connection);
      if (where !== undefined) {
        errors.push({ file: p.file, line, message: `mcpPins: connection "${connection}" is already pinned in ${where}` });
        continue;
      }
      pinnedIn.set(connection, `${p.file}:${line}`);
      mcpPins.set(connection, new Map(Object.entries(tools)));
    }
  }
  policyName ??= options.name;
  if (policyName === undefined || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(policyName))
    errors.push({ file: sorted[0]!.name, line: 1, message: 'expected `policy: <name>` in one file (lowercase letters, digits, . _ -)' });

  const rules: CompiledRule[] = [];
  const seen = new Map<string, string>();
  for (const p of parsed) {
    (p.value.rules ?? []).forEach((raw, i) => {
      const at = (path: (string | number)[] = []): number => lineOf(p, ['rules', i, ...path]);
      const err = (message: string, path: (string | number)[] = []): void => {
        errors.push({ file: p.file, line: at(path), message: `rule ${raw.id}: ${message}` });
      };
      const where = seen.get(raw.id);
      if (where !== undefined) err(`id "${raw.id}" is already used in ${where}`, ['id']);
      seen.set(raw.id, `${p.file}:${at(['id'])}`);
      const rule = compileRule(raw, { file: p.file, line: at() }, principalSets, err);
      if (raw.action === 'mask' && raw.masking !== undefined && !definedIn.has(raw.masking))
        err(`no masking rule set "${raw.masking}" (define it under masking:)`, ['masking']);
      if (rule) rules.push(rule);
    });
  }

  const tests: PolicyTestCase[] = [];
  const ids = new Set(rules.map((r) => r.id));
  for (const p of parsed) {
    (p.value.tests ?? []).forEach((t, i) => {
      const line = lineOf(p, ['tests', i]);
      if (t.expect.rule !== undefined && t.expect.rule !== null && !ids.has(t.expect.rule))
        errors.push({
          file: p.file,
          line: lineOf(p, ['tests', i, 'expect', 'rule']),
          message: `test "${t.name}": no rule "${t.expect.rule}"`,
        });
      if (t.time !== undefined && Number.isNaN(Date.parse(t.time)))
        errors.push({ file: p.file, line: lineOf(p, ['tests', i, 'time']), message: `test "${t.name}": time is not a date-time` });
      const mcpTest = (message: string, path: (string | number)[]): void => {
        errors.push({ file: p.file, line: lineOf(p, ['tests', i, ...path]), message: `test "${t.name}": ${message}` });
      };
      const named = (['tool', 'prompt', 'resource'] as const).filter((k) => t.mcp?.[k] !== undefined);
      if (named.length > 1) mcpTest(`mcp names one of tool, prompt, resource; this one has ${named.join(', ')}`, ['mcp']);
      const listing = t.mcp !== undefined && (t.mcp.method ?? (named.length === 0 ? 'tools/list' : undefined)) === 'tools/list';
      if (t.expect.visibleTools !== undefined && !listing)
        mcpTest('expect.visibleTools is for mcp tools/list cases', ['expect', 'visibleTools']);
      tests.push({ ...t, source: { file: p.file, line } });
    });
  }

  if (errors.length > 0) return { ok: false, errors };
  const contentHash = policyContentHash(files);
  const policy: CompiledPolicy = deepFreeze({
    name: policyName!,
    version: `${policyName}@${contentHash.slice(0, 12)}`,
    contentHash,
    description,
    rules,
    principalSets,
    masking,
    mcpPins,
  });
  return { ok: true, policy, tests, contentHash };
}

function compileRule(
  raw: RawRule,
  source: { file: string; line: number },
  sets: Record<string, string[]>,
  err: (message: string, path?: (string | number)[]) => void,
): CompiledRule | null {
  // Only allow grants. A mask rule adds masking to what other rules allow (docs/policy.md,
  // "Masking"), so its lists read the conservative way for masking: "any" (mask when some
  // relation read is named), as deny and approve rules read them.
  const permissive = raw.action === 'allow';
  const m = raw.match ?? {};
  const sections = (['sql', 'ssh', 'http', 'mcp'] as const).filter((s) => m[s] !== undefined);
  const implied = sections.map((s) => (s === 'sql' ? 'postgres' : s));
  // Allow and mask rules cover postgres unless they say otherwise: a permissive rule never
  // silently covers a protocol added later, and plans describe SQL result columns.
  const postgresOnly = permissive || raw.action === 'mask';
  let protocols: string[] | null = m.protocol ?? (implied.length > 0 ? implied : postgresOnly ? ['postgres'] : null);
  if (m.protocol && implied.some((p) => !m.protocol!.includes(p)))
    err(`match.protocol ${JSON.stringify(m.protocol)} does not include ${implied.join(', ')} of its conditions`, ['match', 'protocol']);
  if (sections.length > 1) err(`conditions of one protocol per rule; this one has ${sections.join(', ')}`, ['match']);
  protocols = protocols ? [...new Set(protocols)] : null;

  const when = requestConditions(m, protocols, sets, (msg, path = []) => err(msg, ['match', ...path]));
  const except = raw.except
    ? requestConditions(raw.except, raw.except.protocol ?? null, sets, (msg, path = []) => err(msg, ['except', ...path]))
    : null;
  if (raw.action !== 'deny' && raw.message !== undefined) err('message is for deny rules; use description', ['message']);
  if (raw.action !== 'approve' && raw.approval !== undefined) err('approval is for approve rules', ['approval']);
  if (raw.action !== 'mask' && raw.masking !== undefined) err('masking is for mask rules', ['masking']);
  const approval: ApprovalSpec | null = raw.approval
    ? {
        groups: raw.approval.groups,
        quorum: raw.approval.quorum === 'each-group' ? raw.approval.groups.length : (raw.approval.quorum ?? 1),
        quorumGroups: raw.approval.quorum === 'each-group' ? raw.approval.groups : [],
        expirySec: durationSec(raw.approval.expiry ?? '15m'),
        scope: raw.approval.scope ?? 'statement',
        // A statement grant must outlive the agent's retry after a late approval.
        grantSec: durationSec(raw.approval.grant ?? '10m'),
        notify: raw.approval.notify ?? [],
      }
    : null;
  const base = {
    id: raw.id,
    description: raw.description,
    action: raw.action,
    message: raw.message ?? null,
    approval,
    masking: raw.masking ?? null,
    when,
    except,
    source,
  };
  if (raw.kind === 'budget' || raw.kind === 'rate') {
    if (sections.length > 0) err(`${raw.kind} rules count requests; they take no ${sections.join('/')} conditions`, ['match']);
    if (raw.kind === 'rate' && (raw.limits?.rowsRead !== undefined || raw.limits?.rowsWritten !== undefined))
      err('rate rules limit statements only; use a budget for rows', ['limits']);
    const rule: GuardrailRule = {
      ...base,
      kind: raw.kind,
      per: raw.per ?? 'actor',
      windowSec: durationSec(raw.window!),
      limits: raw.limits ?? {},
    };
    return rule;
  }
  const rule: AccessRule = {
    ...base,
    kind: 'access',
    sql: m.sql ? sqlCondition(m.sql, permissive ? 'only' : 'any') : null,
    ssh: m.ssh ? sshCondition(m.ssh, permissive ? 'only' : 'any', (msg, path = []) => err(msg, ['match', 'ssh', ...path])) : null,
    http: m.http ? httpCondition(m.http, (msg, path = []) => err(msg, ['match', 'http', ...path])) : null,
    mcp: m.mcp ? mcpCondition(m.mcp, (msg, path = []) => err(msg, ['match', 'mcp', ...path])) : null,
  };
  return rule;
}

function requestConditions(
  raw: RawRequestConditions,
  protocols: string[] | null,
  sets: Record<string, string[]>,
  err: (message: string, path?: (string | number)[]) => void,
): RequestConditions {
  const out: RequestConditions = { protocols };
  if (raw.connection) out.connection = raw.connection;
  if (raw.identity) {
    const r = raw.identity;
    const id: IdentityCondition = {};
    if (r.subject) id.subject = r.subject;
    if (r.issuer) id.issuer = r.issuer;
    if (r.groups) {
      id.groups = Array.isArray(r.groups)
        ? { quantifier: 'any', values: r.groups }
        : r.groups.all
          ? { quantifier: 'all', values: r.groups.all }
          : r.groups.none
            ? { quantifier: 'none', values: r.groups.none }
            : { quantifier: 'any', values: r.groups.any ?? [] };
    }
    if (r.actingAgent) id.actingAgent = r.actingAgent;
    if (r.anyActor) id.anyActor = r.anyActor;
    if (r.actingFor) {
      const expanded: string[] = [];
      for (const v of r.actingFor) {
        if (v.startsWith('@')) {
          const set = sets[v.slice(1)];
          if (!set) err(`no principal set "${v.slice(1)}" (define it under principalSets)`, ['identity', 'actingFor']);
          else expanded.push(...set);
        } else expanded.push(v);
      }
      id.actingFor = expanded;
    }
    if (r.delegated !== undefined) id.delegated = r.delegated;
    if (r.chainLength) id.chainLength = r.chainLength;
    out.identity = id;
  }
  if (raw.time) {
    const zone = raw.time.zone ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
    } catch {
      err(`time.zone "${zone}" is not an IANA time zone (e.g. UTC, Europe/Berlin)`, ['time', 'zone']);
    }
    const t: TimeCondition = { zone };
    if (raw.time.days) t.days = [...new Set(raw.time.days.flatMap(dayNumbers))];
    if (raw.time.hours) {
      const [from, to] = raw.time.hours.split('-').map((hm) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5))) as [number, number];
      if (from === to) err('time.hours is an empty range', ['time', 'hours']);
      t.hours = { from, to };
    }
    out.time = t;
  }
  return out;
}

const DAY_NUMBERS: Record<string, number[]> = {
  sun: [0],
  mon: [1],
  tue: [2],
  wed: [3],
  thu: [4],
  fri: [5],
  sat: [6],
  weekdays: [1, 2, 3, 4, 5],
  weekend: [0, 6],
};
function dayNumbers(d: string): number[] {
  return DAY_NUMBERS[d] ?? [];
}

function sqlCondition(raw: NonNullable<NonNullable<RawRule['match']>['sql']>, shorthand: Quantifier): SqlCondition {
  const out: SqlCondition = {};
  if (raw.kinds) out.kinds = list(raw.kinds, shorthand, (x) => x);
  if (raw.classes) out.classes = list(raw.classes, shorthand, (x) => x);
  for (const key of ['reads', 'writes', 'locks', 'touches', 'functions'] as const) {
    const v = raw[key];
    if (v) out[key] = list(v, shorthand, namePattern);
  }
  if (raw.flags) out.flags = raw.flags;
  if (raw.unparseable !== undefined) out.unparseable = raw.unparseable;
  if (raw.statementCount) out.statementCount = raw.statementCount;
  return out;
}

// Which channel each condition needs: a rule naming other channels could never match.
const SSH_CONDITION_CHANNELS: Record<string, string> = {
  program: 'exec',
  argv: 'exec',
  options: 'exec',
  unknown: 'exec',
  operation: 'sftp',
  path: 'sftp',
  forward: 'direct-tcpip',
};

function sshCondition(raw: RawSsh, shorthand: Quantifier, err: (message: string, path?: (string | number)[]) => void): SshCondition {
  const out: SshCondition = {};
  if (raw.channel) out.channel = raw.channel;
  if (raw.program) out.program = list(raw.program, 'any', (x) => x);
  if (raw.argv) out.argv = raw.argv;
  if (raw.options) out.options = list(raw.options, shorthand, (x) => x);
  if (raw.unknown !== undefined) out.unknown = raw.unknown;
  if (raw.operation) out.operation = raw.operation;
  if (raw.path) out.path = raw.path;
  if (raw.forward) out.forward = raw.forward;
  if (raw.environment) out.environment = raw.environment;
  const needs = [...new Set(Object.keys(raw).flatMap((k) => SSH_CONDITION_CHANNELS[k] ?? []))];
  if (needs.length > 1) err(`conditions of one channel per rule; this one has ${needs.join(', ')} conditions`);
  else if (needs.length === 1 && raw.channel && !raw.channel.some((c) => c === needs[0] || c.includes('*')))
    err(`channel ${JSON.stringify(raw.channel)} does not include ${needs[0]}, which its conditions need`, ['channel']);
  return out;
}

// Never recorded by the HTTP ingress (credentials): a condition on them could never hold.
const UNRECORDED_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

function httpCondition(raw: RawHttp, err: (message: string, path?: (string | number)[]) => void): HttpCondition {
  const out: HttpCondition = {};
  // Methods are compared upper case; header names lower case, as the ingress records them.
  if (raw.method) out.method = raw.method.map((x) => x.toUpperCase());
  if (raw.path) out.path = raw.path;
  if (raw.query) out.query = raw.query;
  if (raw.headers) {
    const headers: Record<string, string> = {};
    for (const [name, glob] of Object.entries(raw.headers)) {
      const lower = name.toLowerCase();
      if (UNRECORDED_HEADERS.has(lower)) err(`header ${lower} is never recorded, so a condition on it never holds`, ['headers', name]);
      if (headers[lower] !== undefined) err(`header ${lower} is named twice`, ['headers', name]);
      headers[lower] = glob;
    }
    out.headers = headers;
  }
  if (raw.json) out.json = raw.json;
  return out;
}

// The JSON-RPC methods of the MCP specification (2025-06-18) an agent or a server may send: a
// method named without a wildcard must be one of them, so a typo is a compile error rather than
// a rule that never matches.
const MCP_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'roots/list',
  'sampling/createMessage',
  'elicitation/create',
]);

function mcpCondition(raw: RawMcp, err: (message: string, path?: (string | number)[]) => void): McpCondition {
  const out: McpCondition = {};
  if (raw.method) {
    raw.method.forEach((m, i) => {
      if (!/[*?]/.test(m) && !MCP_METHODS.has(m))
        err(`method "${m}" is not an MCP method (${[...MCP_METHODS].join(', ')}; or a glob)`, ['method', i]);
    });
    out.method = raw.method;
  }
  if (raw.tool) out.tool = raw.tool;
  if (raw.prompt) out.prompt = raw.prompt;
  if (raw.resource) out.resource = raw.resource;
  if (raw.arguments) out.arguments = raw.arguments;
  // Each naming condition confines the rule to one method: two could never hold together.
  const naming = (['tool', 'prompt', 'resource'] as const).filter((k) => raw[k] !== undefined);
  if (naming.length > 1) err(`conditions of one method per rule; this one has ${naming.join(', ')}`);
  else if (naming.length === 1 && raw.method) {
    const needs = MCP_CONDITION_METHODS[naming[0]!];
    if (!anyGlob(raw.method, needs))
      err(`method ${JSON.stringify(raw.method)} does not include ${needs}, which ${naming[0]} needs`, ['method']);
  }
  return out;
}

function list<R, T>(raw: RawList<R>, shorthand: Quantifier, map: (r: R) => T): ListCondition<T> {
  if (Array.isArray(raw)) return { quantifier: shorthand, values: raw.map(map) };
  const q: Quantifier = raw.any ? 'any' : raw.only ? 'only' : 'none';
  return { quantifier: q, values: (raw[q] ?? []).map(map) };
}

/** "schema.name", "schema.*", "name" (any schema) or {schema, name}. */
export function namePattern(raw: RawName): NamePattern {
  if (typeof raw !== 'string') return { schema: raw.schema ?? null, name: raw.name ?? null };
  const dot = raw.indexOf('.');
  if (dot < 0) return { schema: null, name: raw };
  const schema = raw.slice(0, dot);
  const name = raw.slice(dot + 1);
  return { schema, name: name === '*' ? null : name };
}

function durationSec(d: string): number {
  const n = Number(d.slice(0, -1));
  switch (d.slice(-1)) {
    case 's':
      return n;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    default:
      return n * 86_400;
  }
}

/** The line of the node at `path`, or of its nearest ancestor that exists. */
function lineOf(p: { doc: Document; lines: LineCounter }, path: (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = p.doc.getIn(path.slice(0, n), true) as Node | undefined;
    const start = node?.range?.[0];
    if (start !== undefined) return p.lines.linePos(start).line;
  }
  return 1;
}

function schemaErrors(file: string, doc: Document, lines: LineCounter, errs: ErrorObject[]): PolicyError[] {
  // oneOf failures repeat every branch's complaint; keep the summary and the most specific ones.
  const out = new Map<string, PolicyError>();
  for (const e of errs) {
    // A bad key is reported once, by the propertyNames error, not again by its pattern.
    if (e.keyword === 'if' || e.schemaPath.includes('/propertyNames/')) continue;
    const path = (e.instancePath ?? e.dataPath)
      .split('/')
      .slice(1)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
    let target = path;
    if (e.keyword === 'additionalProperties') target = [...path, (e.params as { additionalProperty: string }).additionalProperty];
    const line = lineOf({ doc, lines }, target);
    const where = path.length > 0 ? path.join('.') : '(top level)';
    const message = `${where}: ${describe(e)}`;
    out.set(`${line}\u0000${message}`, { file, line, message });
  }
  // Keys are "line\0message": a node's line sorts errors in file order.
  return [...out.values()].sort((a, b) => a.line - b.line);
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown key "${String(p.additionalProperty)}"`;
    case 'enum':
      return `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'required':
      return `missing required key "${String(p.missingProperty)}"`;
    case 'type':
      return `expected ${String(p.type)}`;
    case 'pattern':
      return `does not match ${String(p.pattern)}`;
    case 'propertyNames':
      return `key "${String(p.propertyName)}" is not allowed here${/\/(json|arguments)\//.test(e.schemaPath) ? ' (a JSON pointer: "" or /member/0/...)' : ''}`;
    case 'oneOf':
      return 'expected one of the documented forms (a list, or {any|only|none: list}; a name is "schema.name" or {schema, name})';
    case 'false schema':
      return 'not allowed here (per, window and limits are for budget and rate rules)';
    default:
      return e.message ?? e.keyword;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
