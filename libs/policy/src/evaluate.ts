// evaluate(policy, input) -> Evaluation: the pure heart of the policy engine. Every rule is
// evaluated against every statement; the decision follows a fixed precedence and names the
// rule that won, and the evaluation lists every rule that matched (for explain, `policy test`,
// replay and shadow mode).
//
// Precedence: deny > approve > mask > allow > (no rule: default deny). Per statement the
// highest-ranked matching rule decides; the request gets the highest-ranked statement decision.
// Mask rules never grant: a statement some allow rule allows becomes `mask` when mask rules
// match it too, and a statement nothing allows stays denied (docs/policy.md, "Masking").
import type { StatementClass, StatementFacts } from './facts.js';
import { anyGlob, refMatches, showRef, type ResolutionContext, type Tri } from './names.js';
import type {
  AccessRule,
  CompiledPolicy,
  CompiledRule,
  Decision,
  Evaluation,
  GuardrailRule,
  ListCondition,
  NamePattern,
  PolicyInput,
  RequestConditions,
  RuleAction,
  RuleMatch,
  SqlCondition,
  StatementDecision,
  TimeCondition,
} from './types.js';
import { httpMatches } from './http-match.js';
import { mcpMatches } from './mcp-match.js';
import { pinRefusal } from './mcp-pins.js';
import { sshMatches } from './ssh-match.js';
import { usageFor, usageKey, type UsageState } from './usage.js';

const RANK: Record<Decision, number> = { allow: 1, mask: 2, approve: 3, deny: 4 };

/** A statement as the rules see it: its own facts merged with those of what it runs. */
export interface Unit {
  index: number;
  kind: string;
  /** null: the parser could not read it. */
  facts: StatementFacts | null;
  classes: ReadonlySet<StatementClass>;
  /** Why the classifier does not understand it (empty when it does). */
  unknown: string[];
}

// Statements that only carry another statement: judged by what they carry, so their own
// `utility` class does not count once the carried statement's classes are known.
const WRAPPERS = new Set(['PrepareStmt', 'ExecuteStmt', 'ExplainStmt', 'DeclareCursorStmt', 'FetchStmt']);

/** The units a SQL request is judged on (exported for tests and explain output). */
export function sqlUnits(sql: NonNullable<PolicyInput['sql']>): Unit[] {
  if (sql.statements === 'unparseable') return [{ index: 0, kind: 'UNPARSEABLE', facts: null, classes: new Set(), unknown: [] }];
  return sql.statements.map((own, index) => {
    // Facts are shared by every text of a statement shape (libs/sql shape cache), so the unit
    // of a statement that runs nothing it names is worked out once per facts object.
    const runsNamed = own.flags.executes !== null || own.kind === 'FetchStmt';
    const known = runsNamed ? undefined : unitsOfFacts.get(own);
    if (known) return index === known.index ? known : { ...known, index };
    let facts = own;
    const unknown: string[] = [];
    if (own.flags.executes !== null || own.kind === 'FetchStmt') {
      const resolved = sql.resolved;
      if (resolved === 'unparseable') return { index, kind: own.kind, facts: null, classes: new Set(), unknown: [] };
      if (!resolved || resolved.length === 0) unknown.push(`${own.kind} of a statement the gateway did not see prepared`);
      else facts = mergeFacts(own, resolved);
    }
    const classes = new Set(facts.classes);
    if (WRAPPERS.has(own.kind) && [...classes].some((c) => c !== 'utility')) classes.delete('utility');
    if (facts.flags.dynamicSql) unknown.push('dynamic SQL (DO block or EXECUTE of a string): what it runs cannot be known');
    if (facts.unknownKinds.length > 0) unknown.push(`unclassified parse nodes ${facts.unknownKinds.join(', ')}`);
    if (classes.has('unknown') && unknown.length === 0) unknown.push('the classifier marks it unknown');
    if (classes.size === 0) unknown.push('no statement class');
    if (unknown.length > 0) classes.add('unknown');
    const unit = { index, kind: own.kind, facts, classes, unknown };
    if (!runsNamed && Object.isFrozen(own)) unitsOfFacts.set(own, unit);
    return unit;
  });
}

// Only frozen facts are kept: a caller's own mutable facts object could change behind the cache.
const unitsOfFacts = new WeakMap<StatementFacts, Unit>();

function mergeFacts(own: StatementFacts, more: readonly StatementFacts[]): StatementFacts {
  const all = [own, ...more];
  const flags = { ...own.flags };
  for (const f of more) {
    for (const [k, v] of Object.entries(f.flags) as [keyof typeof flags, unknown][]) {
      if (typeof v === 'boolean') (flags as Record<string, unknown>)[k] = Boolean(flags[k]) || v;
      else if (v !== null && flags[k] === null) (flags as Record<string, unknown>)[k] = v;
    }
  }
  return {
    kind: own.kind,
    classes: [...new Set(all.flatMap((f) => f.classes))],
    reads: all.flatMap((f) => f.reads),
    writes: all.flatMap((f) => f.writes),
    locks: all.flatMap((f) => f.locks),
    functions: all.flatMap((f) => f.functions),
    flags,
    unknownKinds: all.flatMap((f) => f.unknownKinds),
    schemaChanges: all.flatMap((f) => f.schemaChanges ?? []),
  };
}

// Only allow rules grant; mask rules are read like deny and approve rules (conservatively for
// what they do: when in doubt, mask).
const grants = (a: RuleAction): boolean => a === 'allow';

/** Evaluates one request against a policy. `usage` feeds the budget and rate rules. */
export function evaluate(policy: CompiledPolicy, input: PolicyInput, usage?: UsageState): Evaluation {
  return evaluateRequest(policy, input, usage, { optimistic: false });
}

/**
 * evaluate(), with `optimistic` for MCP tools/list visibility (mcp-visibility.ts): MCP argument
 * conditions then match in allow, mask and approve rules and not in deny rules.
 */
export function evaluateRequest(
  policy: CompiledPolicy,
  input: PolicyInput,
  usage: UsageState | undefined,
  options: { optimistic: boolean },
): Evaluation {
  // MCP pins come before any rule: no rule can allow a tool nobody approved, or one that changed.
  const refused = input.protocol === 'mcp' && input.mcp ? pinRefusal(policy, input.connection, input.mcp) : null;
  if (refused) {
    const kind = input.protocol;
    return {
      decision: 'deny',
      policyVersion: policy.version,
      ruleId: null,
      reason: refused.reason,
      matches: [],
      statements: [{ index: 0, kind, decision: 'deny', ruleId: null, reason: refused.reason }],
      approval: null,
      masking: [],
      errorCode: refused.errorCode,
    };
  }
  const listing = input.protocol === 'mcp' && input.mcp?.method === 'tools/list';
  const matches: RuleMatch[] = [];
  const ctx: ResolutionContext = {
    searchPathKnown: input.sql?.searchPathKnown ?? true,
    sessionUser: input.sql?.sessionUser ?? null,
    userSchemaExists: input.sql?.userSchemaExists ?? false,
  };
  const units: Unit[] =
    input.protocol === 'postgres'
      ? input.sql
        ? sqlUnits(input.sql)
        : [{ index: 0, kind: 'UNPARSEABLE', facts: null, classes: new Set(), unknown: [] }]
      : [{ index: 0, kind: input.protocol, facts: null, classes: new Set(), unknown: [] }];
  const statementCount = input.sql && input.sql.statements !== 'unparseable' ? input.sql.statements.length : 1;
  if (units.length === 0) {
    // An empty query ('', ';', a lone comment): the server answers EmptyQueryResponse and runs nothing.
    return {
      decision: 'allow',
      policyVersion: policy.version,
      ruleId: null,
      reason: 'the request holds no statement; nothing runs',
      matches: [],
      statements: [],
      approval: null,
      masking: [],
    };
  }

  const applicable = applicableRules(policy, input);
  for (const rule of applicable) {
    if (rule.kind !== 'access') {
      const hit = guardrail(rule, input, statementCount, usage);
      if (hit) matches.push({ ruleId: rule.id, action: rule.action, statement: null, failClosed: false, reason: hit });
      continue;
    }
    for (const unit of units) {
      const m = accessMatch(rule, unit, input, ctx, statementCount, options.optimistic);
      if (m) matches.push({ ...m, statement: unit.index });
    }
  }

  const byId = rulesById(policy);
  const effective = (m: RuleMatch): Decision => (m.failClosed ? 'deny' : m.action);
  // A mask match that failed closed is a denial like any other; the rest only add masking.
  const masks = (m: RuleMatch): boolean => m.action === 'mask' && !m.failClosed;
  const statements: StatementDecision[] = units.map((unit) => {
    const mine = matches.filter((m) => m.statement === unit.index);
    // tools/list is answered, filtered to the tools the requester could call (visibleTools);
    // only a deny rule refuses the list itself.
    if (listing) {
      const denial = pick(
        mine.filter((m) => effective(m) === 'deny'),
        effective,
      );
      if (denial) return { index: unit.index, kind: unit.kind, decision: 'deny', ruleId: denial.ruleId, reason: denial.reason };
      return { index: unit.index, kind: unit.kind, decision: 'allow', ruleId: null, reason: TOOLS_LIST_REASON };
    }
    const winner = pick(
      mine.filter((m) => !masks(m)),
      effective,
    );
    if (!winner) return { index: unit.index, kind: unit.kind, decision: 'deny', ruleId: null, reason: defaultReason(unit, input, policy) };
    const decision = effective(winner);
    const masking = decision === 'allow' ? mine.filter(masks) : [];
    if (masking.length === 0) return { index: unit.index, kind: unit.kind, decision, ruleId: winner.ruleId, reason: winner.reason };
    // The allowing rule stays the one named: it decided access; the reason names the masks.
    const by = masking.map((m) => `${m.ruleId} (masking rule set ${byId.get(m.ruleId)?.masking})`).join(', ');
    return { index: unit.index, kind: unit.kind, decision: 'mask', ruleId: winner.ruleId, reason: `${winner.reason}; masked by ${by}` };
  });

  // The request: the guardrails' matches and each statement's decision, highest rank wins;
  // a named rule wins over the default at the same rank.
  const guards = matches.filter((m) => m.statement === null);
  const guard = pick(guards, effective);
  let decision: Decision = 'allow';
  for (const s of statements) if (RANK[s.decision] > RANK[decision]) decision = s.decision;
  if (guard && RANK[effective(guard)] >= RANK[decision]) decision = effective(guard);
  const prefix = (s: StatementDecision): string => (units.length > 1 ? `statement ${s.index + 1} (${s.kind}): ` : '');
  let ruleId: string | null;
  let reason: string;
  if (guard && effective(guard) === decision) {
    ruleId = guard.ruleId;
    reason = guard.reason;
  } else {
    const at = statements.filter((s) => s.decision === decision);
    const named = at.find((s) => s.ruleId !== null) ?? at[0]!;
    ruleId = named.ruleId;
    reason = prefix(named) + named.reason;
  }

  let approval: Evaluation['approval'] = null;
  if (decision === 'approve' && ruleId !== null) {
    const rule = byId.get(ruleId);
    if (rule?.approval) approval = { ...rule.approval, ruleId };
  }
  // Every mask rule that matched a statement the request may run (allowed, or waiting for
  // approval), in rule order (matches are collected rule by rule): the plan is their merge.
  // An approval keeps the plan: what is approved later is the masked request.
  const masking: string[] = [];
  if (decision !== 'deny' && !listing) {
    const runnable = new Set(statements.filter((s) => s.decision !== 'deny').map((s) => s.index));
    for (const m of matches) {
      if (!masks(m) || m.statement === null || !runnable.has(m.statement)) continue;
      const set = byId.get(m.ruleId)?.masking;
      if (set && !masking.includes(set)) masking.push(set);
    }
  }
  return { decision, policyVersion: policy.version, ruleId, reason, matches, statements, approval, masking };
}

const TOOLS_LIST_REASON =
  'tools/list is answered with the tools this requester could call (pinned, unchanged, and allowed or approvable by a rule); each call is decided again';

// Built once per compiled policy, not per request.
const ruleIndexes = new WeakMap<CompiledPolicy, ReadonlyMap<string, CompiledRule>>();

function rulesById(policy: CompiledPolicy): ReadonlyMap<string, CompiledRule> {
  let index = ruleIndexes.get(policy);
  if (!index) {
    index = new Map(policy.rules.map((r) => [r.id, r]));
    ruleIndexes.set(policy, index);
  }
  return index;
}

function pick(ms: readonly RuleMatch[], effective: (m: RuleMatch) => Decision): RuleMatch | undefined {
  let best: RuleMatch | undefined;
  for (const m of ms) if (!best || RANK[effective(m)] > RANK[effective(best)]) best = m;
  return best;
}

function defaultReason(unit: Unit, input: PolicyInput, policy: CompiledPolicy): string {
  if (input.protocol !== 'postgres') {
    const covered = policy.rules.some((r) => r.when.protocols?.includes(input.protocol) && grants(r.action));
    if (!covered) return `no rule covers protocol ${input.protocol} (default deny)`;
    if (input.protocol === 'ssh' && input.ssh) return sshDefaultReason(input.ssh);
    if (input.protocol === 'http' && input.http) return `no rule allows this http ${input.http.method} request (default deny)`;
    if (input.protocol === 'mcp' && input.mcp) {
      const what = input.mcp.name ?? input.mcp.uri;
      return `no rule allows this mcp ${input.mcp.method}${what === null ? '' : ` ${what}`} (default deny)`;
    }
    return `no rule allows this ${input.protocol} request (default deny)`;
  }
  if (unit.facts === null) return 'the statement could not be parsed; unparseable SQL is denied unless a rule names `unparseable: true`';
  if (unit.unknown.length > 0)
    return `the classifier does not understand this statement (${unit.unknown.join('; ')}); denied unless a rule names class unknown`;
  return `no rule allows this ${unit.kind} (default deny)`;
}

function sshDefaultReason(ssh: NonNullable<PolicyInput['ssh']>): string {
  if (ssh.channel === 'exec') {
    if (ssh.facts === null) return 'the command was not analysed; denied (fail closed)';
    if (ssh.facts.unknown.length > 0)
      return `the shell command cannot be fully analysed (${ssh.facts.unknown.join(', ')}); denied unless a rule names \`unknown: true\``;
  }
  const programs = ssh.facts ? [...new Set(ssh.facts.commands.map((c) => c.program))] : [];
  const what = programs.length > 0 ? ` running ${programs.join(', ')}` : '';
  const env = ssh.environment.length > 0 ? ` with environment ${ssh.environment.join(', ')}` : '';
  return `no rule allows this ssh ${ssh.channel} request${what}${env} (default deny)`;
}

// --- request-level conditions ----------------------------------------------------------------

/** A rule whose identity, connection and protocol conditions hold; its time conditions are checked per request. */
interface Candidate {
  rule: CompiledRule;
  whenTime: TimeCondition | undefined;
  /** The `except` clause's time condition when the rest of `except` holds: the rule is excluded inside it. */
  exceptTime: TimeCondition | null;
}

const MAX_APPLICABILITY_ENTRIES = 10_000;
const applicability = new WeakMap<CompiledPolicy, Map<string, Candidate[]>>();

/**
 * The rules that apply to a request. Everything but the time window depends only on the
 * protocol, connection and identity, which repeat across a session's requests, so that part is
 * worked out once per policy and requester, and only time windows are checked per request.
 */
function applicableRules(policy: CompiledPolicy, input: PolicyInput): CompiledRule[] {
  let byRequester = applicability.get(policy);
  if (!byRequester) {
    byRequester = new Map();
    applicability.set(policy, byRequester);
  }
  const id = input.identity;
  // Length-prefixed parts: no two requesters share a key, whatever their names contain.
  let key = `${part(input.protocol)}${input.connection === null ? '-' : part(input.connection)}`;
  if (id !== null) {
    key += `${part(id.subject)}${part(id.issuer)}${id.groups.length}[`;
    for (const g of id.groups) key += part(g);
    key += `${id.actChain.length}[`;
    for (const l of id.actChain) key += part(l.subject);
  }
  let candidates = byRequester.get(key);
  if (!candidates) {
    candidates = [];
    for (const rule of policy.rules) {
      if (!requestMatchesUntimed(rule.when, input)) continue;
      const excepted = rule.except !== null && requestMatchesUntimed(rule.except, input);
      if (excepted && !rule.except!.time) continue;
      candidates.push({ rule, whenTime: rule.when.time, exceptTime: excepted ? rule.except!.time! : null });
    }
    // Bounded: requesters are few (identities times connections); past the bound, start over.
    if (byRequester.size >= MAX_APPLICABILITY_ENTRIES) byRequester.clear();
    byRequester.set(key, candidates);
  }
  const out: CompiledRule[] = [];
  for (const c of candidates) {
    if (c.whenTime && !timeMatches(c.whenTime, input.timeUs)) continue;
    if (c.exceptTime && timeMatches(c.exceptTime, input.timeUs)) continue;
    out.push(c.rule);
  }
  return out;
}

const part = (s: string): string => `${s.length}:${s}`;

export function requestMatches(c: RequestConditions, input: PolicyInput): boolean {
  return requestMatchesUntimed(c, input) && (!c.time || timeMatches(c.time, input.timeUs));
}

function timeMatches(t: TimeCondition, timeUs: number): boolean {
  const { day, minute } = localTime(timeUs, t.zone);
  if (t.days && !t.days.includes(day)) return false;
  if (t.hours) {
    const { from, to } = t.hours;
    const inside = from < to ? minute >= from && minute < to : minute >= from || minute < to;
    if (!inside) return false;
  }
  return true;
}

function requestMatchesUntimed(c: RequestConditions, input: PolicyInput): boolean {
  if (c.protocols && !c.protocols.includes(input.protocol)) return false;
  if (c.connection && (input.connection === null || !anyGlob(c.connection, input.connection))) return false;
  if (c.identity) {
    const id = input.identity;
    if (!id) return false;
    const i = c.identity;
    if (i.subject && !anyGlob(i.subject, id.subject)) return false;
    if (i.issuer && !anyGlob(i.issuer, id.issuer)) return false;
    if (i.groups) {
      const has = (g: string): boolean => id.groups.some((x) => anyGlob([g], x));
      const q = i.groups.quantifier;
      if (q === 'any' && !i.groups.values.some(has)) return false;
      if (q === 'all' && !i.groups.values.every(has)) return false;
      if (q === 'none' && i.groups.values.some(has)) return false;
    }
    const chain = id.actChain;
    const agent = chain[0]?.subject ?? id.subject;
    if (i.actingAgent && !anyGlob(i.actingAgent, agent)) return false;
    if (i.actingFor && (chain.length === 0 || !anyGlob(i.actingFor, id.subject))) return false;
    if (i.anyActor && !chain.some((l) => anyGlob(i.anyActor!, l.subject))) return false;
    if (i.delegated !== undefined && chain.length > 0 !== i.delegated) return false;
    if (i.chainLength && !inRange(chain.length, i.chainLength)) return false;
  }
  return true;
}

function inRange(n: number, r: { min?: number; max?: number }): boolean {
  return (r.min === undefined || n >= r.min) && (r.max === undefined || n <= r.max);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Weekday (0 = Sunday) and minute of the day of an instant in a zone. */
export function localTime(timeUs: number, zone: string): { day: number; minute: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  const parts = f.formatToParts(new Date(Math.floor(timeUs / 1000)));
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '0';
  return { day: WEEKDAYS.indexOf(get('weekday')), minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

// --- access rules ------------------------------------------------------------------------------

function accessMatch(
  rule: AccessRule,
  unit: Unit,
  input: PolicyInput,
  ctx: ResolutionContext,
  statementCount: number,
  optimistic: boolean,
): Omit<RuleMatch, 'statement'> | null {
  const permissive = grants(rule.action);
  const hit = (failClosed = false, why = ''): Omit<RuleMatch, 'statement'> => ({
    ruleId: rule.id,
    action: rule.action,
    failClosed,
    reason: failClosed ? why : ruleReason(rule),
  });
  if (input.protocol !== 'postgres') return protocolMatch(rule, input, permissive, optimistic) ? hit() : null;
  const sql = rule.sql;
  if (unit.facts === null) {
    // Unparseable: only a rule that names it, or a deny/approve rule with no SQL condition.
    if (sql?.unparseable === true) return hit();
    return sql === null && !permissive ? hit() : null;
  }
  if (unit.unknown.length > 0 && permissive && !namesUnknown(sql)) return null;
  if (sql === null) return hit();
  const { tri, unresolved } = sqlMatches(sql, unit, ctx, statementCount);
  if (tri === 'yes' || (tri === 'maybe' && !permissive)) return hit();
  if (tri === 'unknown') {
    const names = [...new Set(unresolved.map(showRef))].join(', ');
    return hit(
      true,
      `the session's search_path is unknown (it was changed), so the schema of ${names} cannot be known; rule ${rule.id} depends on it, so the statement is denied (fail closed)`,
    );
  }
  return null;
}

function ruleReason(rule: CompiledRule): string {
  if (rule.action === 'deny') return rule.message ?? rule.description;
  if (rule.action === 'approve' && rule.approval) {
    const a = rule.approval;
    return `${rule.description} (approval by ${a.groups.join(', ')}, quorum ${a.quorum})`;
  }
  if (rule.action === 'mask') return `${rule.description} (masking rule set ${rule.masking})`;
  return rule.description;
}

function namesUnknown(sql: SqlCondition | null): boolean {
  return !!sql?.classes && sql.classes.quantifier !== 'none' && sql.classes.values.includes('unknown');
}

function protocolMatch(rule: AccessRule, input: PolicyInput, permissive: boolean, optimistic: boolean): boolean {
  switch (input.protocol) {
    case 'ssh': {
      if (rule.sql || rule.http || rule.mcp) return false;
      return input.ssh !== undefined && sshMatches(rule.ssh, input.ssh, permissive);
    }
    case 'http': {
      if (rule.sql || rule.ssh || rule.mcp) return false;
      return input.http !== undefined && httpMatches(rule.http, input.http, permissive);
    }
    case 'mcp': {
      if (rule.sql || rule.ssh || rule.http) return false;
      return input.mcp !== undefined && mcpMatches(rule.mcp, input.mcp, rule.action, optimistic);
    }
    default:
      return !rule.sql && !rule.ssh && !rule.http && !rule.mcp;
  }
}

// --- SQL conditions: three-valued (see names.ts) ------------------------------------------------

function and(a: Tri, b: Tri): Tri {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  if (a === 'maybe' || b === 'maybe') return 'maybe';
  return 'yes';
}

function quantify<E>(cond: ListCondition<unknown>, elements: Iterable<E>, test: (e: E) => Tri): Tri {
  // Per request and rule: counted in one pass, without an array of results.
  let yes = false;
  let no = false;
  let unknown = false;
  let maybe = false;
  for (const e of elements) {
    const t = test(e);
    if (t === 'yes') yes = true;
    else if (t === 'no') no = true;
    else if (t === 'unknown') unknown = true;
    else maybe = true;
  }
  const any: Tri = yes ? 'yes' : unknown ? 'unknown' : maybe ? 'maybe' : 'no';
  switch (cond.quantifier) {
    case 'any':
      return any;
    case 'none':
      return any === 'yes' ? 'no' : any === 'no' ? 'yes' : any;
    case 'only':
      return no ? 'no' : unknown ? 'unknown' : maybe ? 'maybe' : 'yes';
    default: {
      const never: never = cond.quantifier;
      throw new Error(`unknown quantifier ${String(never)}`);
    }
  }
}

export function sqlMatches(
  sql: SqlCondition,
  unit: Unit,
  ctx: ResolutionContext,
  statementCount: number,
): { tri: Tri; unresolved: { schema: string | null; name: string }[] } {
  const f = unit.facts!;
  const unresolved: { schema: string | null; name: string }[] = [];
  let tri: Tri = 'yes';
  if (sql.unparseable === true) return { tri: 'no', unresolved };
  if (sql.statementCount && !(statementCount >= (sql.statementCount.min ?? 0) && statementCount <= (sql.statementCount.max ?? Infinity)))
    return { tri: 'no', unresolved };
  if (sql.kinds)
    tri = and(
      tri,
      quantify(sql.kinds, [unit.kind], (k) => (anyGlob(sql.kinds!.values, k) ? 'yes' : 'no')),
    );
  if (sql.classes)
    tri = and(
      tri,
      quantify(sql.classes, unit.classes, (c) => (sql.classes!.values.includes(c) ? 'yes' : 'no')),
    );
  if (sql.flags) {
    for (const [flag, want] of Object.entries(sql.flags)) {
      const v = (f.flags as unknown as Record<string, unknown>)[flag];
      const on = typeof v === 'string' ? true : v === true;
      if (on !== want) tri = 'no';
    }
  }
  if (tri === 'no') return { tri, unresolved };
  const names = (cond: ListCondition<NamePattern> | undefined, refs: typeof f.reads, what: 'relation' | 'function'): void => {
    if (!cond) return;
    tri = and(
      tri,
      quantify(cond, refs, (r) => {
        const t = refMatches(r, cond.values, what, ctx);
        if (t === 'unknown') unresolved.push(r);
        return t;
      }),
    );
  };
  names(sql.reads, f.reads, 'relation');
  names(sql.writes, f.writes, 'relation');
  names(sql.locks, f.locks, 'relation');
  if (sql.touches) names(sql.touches, [...f.reads, ...f.writes, ...f.locks], 'relation');
  names(sql.functions, f.functions, 'function');
  return { tri, unresolved };
}

// --- guardrails --------------------------------------------------------------------------------

function guardrail(rule: GuardrailRule, input: PolicyInput, statements: number, usage: UsageState | undefined): string | null {
  if (!input.identity) return null;
  const who = rule.per === 'subject' ? input.identity.subject : (input.identity.actChain[0]?.subject ?? input.identity.subject);
  const key = usageKey(rule.per, who, input.connection);
  const used = usage ? usageFor(usage, key, input.timeUs, rule.windowSec * 1_000_000) : { statements: 0, rowsRead: 0, rowsWritten: 0 };
  const l = rule.limits;
  const window = `${rule.windowSec}s`;
  const over: string[] = [];
  if (l.statements !== undefined && used.statements + statements > l.statements)
    over.push(`${used.statements} statements in the last ${window} (+${statements}) exceeds ${l.statements}`);
  if (l.rowsRead !== undefined && used.rowsRead >= l.rowsRead)
    over.push(`${used.rowsRead} rows read in the last ${window} reaches ${l.rowsRead}`);
  if (l.rowsWritten !== undefined && used.rowsWritten >= l.rowsWritten)
    over.push(`${used.rowsWritten} rows written in the last ${window} reaches ${l.rowsWritten}`);
  if (over.length === 0) return null;
  return `${rule.description}: ${rule.per} ${who} on ${input.connection ?? '(no connection)'}: ${over.join('; ')}`;
}
