// Given a policy (inline YAML) and a request with hand-built facts, when evaluated, then this
// decision by this rule: the matcher's cases, independent of the SQL parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compilePolicy,
  emptyFacts,
  evaluate,
  type CompiledPolicy,
  type Decision,
  type McpInput,
  type NameRef,
  type PolicyIdentity,
  type PolicyInput,
  type SshInput,
  sshInput,
  type StatementClass,
  type StatementFacts,
} from './index.js';

// Mask rules name sets the policy defines; the matcher cases share these two.
const MASKING_SETS = '\nmasking: { pii: { detectors: [email] }, cards: { detectors: [card] } }\n';

export function policyOf(yaml: string): CompiledPolicy {
  const sets = /^masking:/m.test(yaml) ? '' : MASKING_SETS;
  const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\n${yaml}${sets}` }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const ref = (s: string): NameRef => {
  const i = s.indexOf('.');
  return i < 0 ? { schema: null, name: s } : { schema: s.slice(0, i), name: s.slice(i + 1) };
};

function facts(
  kind: string,
  classes: StatementClass[],
  more: Partial<Omit<StatementFacts, 'flags'>> & { flags?: Partial<StatementFacts['flags']> } = {},
): StatementFacts {
  const base = emptyFacts(kind, classes);
  return { ...base, ...more, flags: { ...base.flags, ...more.flags } };
}
const select = (...reads: string[]): StatementFacts => facts('SelectStmt', ['select'], { reads: reads.map(ref) });

const exec = (command: string): SshInput =>
  sshInput({
    channel: 'exec',
    command,
    operation: null,
    path: null,
    targetPath: null,
    forwardHost: null,
    forwardPort: null,
    environment: [],
  });

const ALICE: PolicyIdentity = { subject: 'alice', issuer: 'https://idp.example', groups: ['agents', 'eu'], actChain: [] };
// Monday 2026-01-05 12:00 UTC
const NOON_MON = Date.parse('2026-01-05T12:00:00Z') * 1000;

function req(over: Partial<PolicyInput> & { statements?: StatementFacts[] | 'unparseable'; searchPathKnown?: boolean } = {}): PolicyInput {
  const { statements, searchPathKnown, ...rest } = over;
  return {
    protocol: 'postgres',
    connection: 'demo',
    identity: ALICE,
    timeUs: NOON_MON,
    sql: { statements: statements ?? [select('public.t')], searchPathKnown: searchPathKnown ?? true },
    ...rest,
  };
}

const READ_PUBLIC = `
rules:
  - id: read
    description: read public
    match: { sql: { classes: [select], reads: [public.*] } }
    action: allow
`;

interface Case {
  name: string;
  policy: string;
  input: PolicyInput;
  decision: Decision;
  rule: string | null;
}

const IDENTITY = (cond: string): string => `
rules:
  - id: r
    description: identity rule
    match: { identity: ${cond} }
    action: allow
`;

const delegated = (agent: string, forWhom: string, more: string[] = []): PolicyIdentity => ({
  subject: forWhom,
  issuer: 'https://idp.example',
  groups: ['agents'],
  actChain: [agent, ...more].map((subject) => ({ subject })),
});

// A tools/call of `search` on connection demo, pinned as the server describes it.
const SEARCH_FINGERPRINT = `sha256:${'a'.repeat(64)}`;
const SEARCH_PIN = `mcpPins: { demo: { search: "${SEARCH_FINGERPRINT}" } }\n`;
const searchCall = (args: unknown): McpInput => ({
  method: 'tools/call',
  name: 'search',
  uri: null,
  arguments: { json: args },
  toolFingerprint: SEARCH_FINGERPRINT,
  tools: [],
});

const CASES: Case[] = [
  // --- identity ---------------------------------------------------------------------------------
  { name: 'subject glob matches', policy: IDENTITY('{ subject: [ali*] }'), input: req(), decision: 'allow', rule: 'r' },
  { name: 'subject glob misses', policy: IDENTITY('{ subject: [bob] }'), input: req(), decision: 'deny', rule: null },
  { name: 'issuer matches', policy: IDENTITY('{ issuer: ["https://idp.example"] }'), input: req(), decision: 'allow', rule: 'r' },
  { name: 'issuer is exact, not a prefix', policy: IDENTITY('{ issuer: ["https://idp.ex"] }'), input: req(), decision: 'deny', rule: null },
  { name: 'groups: a list is any', policy: IDENTITY('{ groups: [nope, eu] }'), input: req(), decision: 'allow', rule: 'r' },
  { name: 'groups all: both present', policy: IDENTITY('{ groups: { all: [agents, eu] } }'), input: req(), decision: 'allow', rule: 'r' },
  { name: 'groups all: one missing', policy: IDENTITY('{ groups: { all: [agents, us] } }'), input: req(), decision: 'deny', rule: null },
  { name: 'groups none: absent', policy: IDENTITY('{ groups: { none: [contractors] } }'), input: req(), decision: 'allow', rule: 'r' },
  { name: 'groups none: present', policy: IDENTITY('{ groups: { none: [eu] } }'), input: req(), decision: 'deny', rule: null },
  {
    name: 'no identity never matches identity conditions',
    policy: IDENTITY('{ groups: { none: [x] } }'),
    input: req({ identity: null }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'acting agent without delegation is the subject',
    policy: IDENTITY('{ actingAgent: [alice] }'),
    input: req(),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'acting agent is the outermost actor',
    policy: IDENTITY('{ actingAgent: [planner] }'),
    input: req({ identity: delegated('planner', 'alice', ['dba-agent']) }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'an earlier actor is not the acting agent',
    policy: IDENTITY('{ actingAgent: [dba-agent] }'),
    input: req({ identity: delegated('planner', 'alice', ['dba-agent']) }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'anyActor finds an earlier actor',
    policy: IDENTITY('{ anyActor: [dba-agent] }'),
    input: req({ identity: delegated('planner', 'alice', ['dba-agent']) }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'actingFor a subject',
    policy: IDENTITY('{ actingFor: [alice] }'),
    input: req({ identity: delegated('bot', 'alice') }),
    decision: 'allow',
    rule: 'r',
  },
  { name: 'actingFor needs delegation', policy: IDENTITY('{ actingFor: [alice] }'), input: req(), decision: 'deny', rule: null },
  {
    name: 'actingFor a member of a principal set',
    policy: `principalSets: { contractors: [carol, dave] }\n${IDENTITY('{ actingFor: ["@contractors"] }')}`,
    input: req({ identity: delegated('bot', 'dave') }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'actingFor a non-member of a principal set',
    policy: `principalSets: { contractors: [carol, dave] }\n${IDENTITY('{ actingFor: ["@contractors"] }')}`,
    input: req({ identity: delegated('bot', 'alice') }),
    decision: 'deny',
    rule: null,
  },
  { name: 'delegated: false on a direct request', policy: IDENTITY('{ delegated: false }'), input: req(), decision: 'allow', rule: 'r' },
  { name: 'delegated: true on a direct request', policy: IDENTITY('{ delegated: true }'), input: req(), decision: 'deny', rule: null },
  {
    name: 'chain length within max',
    policy: IDENTITY('{ chainLength: { max: 1 } }'),
    input: req({ identity: delegated('bot', 'alice') }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'chain length over max',
    policy: IDENTITY('{ chainLength: { max: 1 } }'),
    input: req({ identity: delegated('bot', 'alice', ['planner']) }),
    decision: 'deny',
    rule: null,
  },
  // --- connection, protocol, time ------------------------------------------------------------------
  {
    name: 'connection glob',
    policy: `rules:\n  - { id: r, description: d, match: { connection: ["de*"] }, action: allow }`,
    input: req(),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'connection miss',
    policy: `rules:\n  - { id: r, description: d, match: { connection: [scratch] }, action: allow }`,
    input: req(),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'connection condition, request without connection',
    policy: `rules:\n  - { id: r, description: d, match: { connection: ["*"] }, action: allow }`,
    input: req({ connection: null }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'weekday office hours, inside',
    policy: `rules:\n  - { id: r, description: d, match: { time: { days: [weekdays], hours: "08:00-18:00" } }, action: allow }`,
    input: req(),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'weekday office hours, Saturday',
    policy: `rules:\n  - { id: r, description: d, match: { time: { days: [weekdays], hours: "08:00-18:00" } }, action: allow }`,
    input: req({ timeUs: Date.parse('2026-01-10T12:00:00Z') * 1000 }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'hours end is exclusive',
    policy: `rules:\n  - { id: r, description: d, match: { time: { hours: "08:00-12:00" } }, action: allow }`,
    input: req(),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a named zone shifts the hours (12:00 UTC is 21:00 in Tokyo)',
    policy: `rules:\n  - { id: r, description: d, match: { time: { hours: "08:00-18:00", zone: Asia/Tokyo } }, action: allow }`,
    input: req(),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a window past midnight',
    policy: `rules:\n  - { id: r, description: d, match: { time: { hours: "20:00-06:00", zone: Asia/Tokyo } }, action: allow }`,
    input: req(),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'days in a zone: Monday 01:00 UTC is Sunday in New York',
    policy: `rules:\n  - { id: r, description: d, match: { time: { days: [sun], zone: America/New_York } }, action: allow }`,
    input: req({ timeUs: Date.parse('2026-01-05T01:00:00Z') * 1000 }),
    decision: 'allow',
    rule: 'r',
  },
  // --- precedence ---------------------------------------------------------------------------------
  {
    name: 'deny overrides allow, whatever the order',
    policy: `${READ_PUBLIC}  - { id: no, description: d, match: { sql: { reads: [public.t] } }, action: deny }`,
    input: req(),
    decision: 'deny',
    rule: 'no',
  },
  {
    name: 'deny overrides approve',
    policy: `rules:
  - { id: ok, description: d, match: { sql: { classes: [delete] } }, action: approve, approval: { groups: [a] } }
  - { id: no, description: d, match: { sql: { classes: [delete] } }, action: deny }`,
    input: req({ statements: [facts('DeleteStmt', ['delete'], { writes: [ref('public.t')] })] }),
    decision: 'deny',
    rule: 'no',
  },
  {
    name: 'approve overrides allow',
    policy: `rules:
  - { id: all, description: d, match: { sql: { classes: [delete] } }, action: allow }
  - { id: ask, description: d, match: { sql: { classes: [delete] } }, action: approve, approval: { groups: [a] } }`,
    input: req({ statements: [facts('DeleteStmt', ['delete'])] }),
    decision: 'approve',
    rule: 'ask',
  },
  {
    name: 'approve overrides mask',
    policy: `rules:
  - { id: m, description: d, match: { sql: { classes: [select] } }, action: mask, masking: pii }
  - { id: ask, description: d, match: { sql: { reads: [public.t] } }, action: approve, approval: { groups: [a] } }`,
    input: req(),
    decision: 'approve',
    rule: 'ask',
  },
  {
    name: 'a mask rule on what an allow rule allows (the allow rule is named)',
    policy: `${READ_PUBLIC}  - { id: m, description: d, match: { sql: { reads: [public.t] } }, action: mask, masking: pii }`,
    input: req(),
    decision: 'mask',
    rule: 'read',
  },
  {
    name: 'a mask rule alone (it grants nothing)',
    policy: `rules:
  - { id: m, description: d, match: { sql: { reads: [public.t] } }, action: mask, masking: pii }`,
    input: req(),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a mask rule on what a deny rule refuses',
    policy: `${READ_PUBLIC}  - { id: m, description: d, match: { sql: { reads: [public.t] } }, action: mask, masking: pii }
  - { id: no, description: d, match: { sql: { reads: [public.t] } }, action: deny }`,
    input: req(),
    decision: 'deny',
    rule: 'no',
  },
  {
    name: 'a mask rule whose plain list names one of the relations read (lists mean "any" in mask rules)',
    policy: `${READ_PUBLIC}  - { id: m, description: d, match: { sql: { reads: [public.t] } }, action: mask, masking: pii }`,
    input: req({ statements: [select('public.u', 'public.t')] }),
    decision: 'mask',
    rule: 'read',
  },
  {
    name: 'a mask rule that cannot tell under an unknown search_path (fails closed)',
    policy: `rules:
  - { id: any-t, description: d, match: { sql: { classes: [select], reads: [t] } }, action: allow }
  - { id: m, description: d, match: { sql: { reads: [public.t] } }, action: mask, masking: pii }`,
    input: req({ statements: [select('t')], searchPathKnown: false }),
    decision: 'deny',
    rule: 'm',
  },
  {
    name: 'the first of equal rules is named',
    policy: `rules:
  - { id: a, description: d, match: { sql: { classes: [select] } }, action: allow }
  - { id: b, description: d, match: { sql: { classes: [select] } }, action: allow }`,
    input: req(),
    decision: 'allow',
    rule: 'a',
  },
  { name: 'no rule: default deny', policy: 'rules: []', input: req(), decision: 'deny', rule: null },
  {
    name: 'except exempts a request',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { classes: [select] } }, except: { identity: { groups: [eu] } }, action: deny }\n${READ_PUBLIC.replace('rules:\n', '')}`,
    input: req(),
    decision: 'allow',
    rule: 'read',
  },
  {
    name: 'except does not exempt others',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { classes: [select] } }, except: { identity: { groups: [us] } }, action: deny }\n${READ_PUBLIC.replace('rules:\n', '')}`,
    input: req(),
    decision: 'deny',
    rule: 'no',
  },
  // --- lists and quantifiers ------------------------------------------------------------------------
  {
    name: 'allow list means only: all reads in public',
    policy: READ_PUBLIC,
    input: req({ statements: [select('public.a', 'public.b')] }),
    decision: 'allow',
    rule: 'read',
  },
  {
    name: 'allow list means only: one read elsewhere',
    policy: READ_PUBLIC,
    input: req({ statements: [select('public.a', 'other.b')] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'allow list on classes: a hidden delete is not only select',
    policy: READ_PUBLIC,
    input: req({ statements: [facts('SelectStmt', ['select', 'delete'], { reads: [ref('public.t')], writes: [ref('public.t')] })] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'deny list means any: one of several reads',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { reads: [secrets.*] } }, action: deny }`,
    input: req({ statements: [select('public.a', 'secrets.k')] }),
    decision: 'deny',
    rule: 'no',
  },
  {
    name: 'explicit any in an allow rule',
    policy: `rules:\n  - { id: r, description: d, match: { sql: { reads: { any: [public.a] } } }, action: allow }`,
    input: req({ statements: [select('public.a', 'other.b')] }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'explicit none',
    policy: `rules:\n  - { id: r, description: d, match: { sql: { reads: { none: [secrets.*] } } }, action: allow }`,
    input: req({ statements: [select('public.a', 'other.b')] }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'explicit none, violated',
    policy: `rules:\n  - { id: r, description: d, match: { sql: { reads: { none: [secrets.*] } } }, action: allow }`,
    input: req({ statements: [select('secrets.k')] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'explicit only in a deny rule',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { classes: { only: [select] } } }, action: deny }`,
    input: req({ statements: [facts('InsertStmt', ['insert'])] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'name glob',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { reads: ["public.pay*"] } }, action: deny }\n${READ_PUBLIC.replace('rules:\n', '')}`,
    input: req({ statements: [select('public.payroll')] }),
    decision: 'deny',
    rule: 'no',
  },
  {
    name: 'a bare name matches in any schema',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { reads: [api_keys] } }, action: deny }\n${READ_PUBLIC.replace('rules:\n', '')}`,
    input: req({ statements: [select('public.api_keys')] }),
    decision: 'deny',
    rule: 'no',
  },
  {
    name: 'writes condition',
    policy: `rules:\n  - { id: w, description: d, match: { sql: { classes: [insert], writes: [public.*] } }, action: allow }`,
    input: req({ statements: [facts('InsertStmt', ['insert'], { writes: [ref('public.t')] })] }),
    decision: 'allow',
    rule: 'w',
  },
  {
    name: 'locks condition',
    policy: `rules:\n  - { id: l, description: d, match: { sql: { locks: [public.*] } }, action: deny }\n${READ_PUBLIC.replace('rules:\n', '')}`,
    input: req({
      statements: [facts('SelectStmt', ['select'], { reads: [ref('public.t')], locks: [ref('public.t')], flags: { lockingRead: true } })],
    }),
    decision: 'deny',
    rule: 'l',
  },
  {
    name: 'touches covers writes',
    policy: `rules:\n  - { id: s, description: d, match: { sql: { touches: [secrets.*] } }, action: deny }`,
    input: req({ statements: [facts('InsertStmt', ['insert'], { writes: [ref('secrets.k')] })] }),
    decision: 'deny',
    rule: 's',
  },
  {
    name: 'kinds condition',
    policy: `rules:\n  - { id: k, description: d, match: { sql: { kinds: [VariableShowStmt] } }, action: allow }`,
    input: req({ statements: [facts('VariableShowStmt', ['utility'])] }),
    decision: 'allow',
    rule: 'k',
  },
  {
    name: 'flag condition: prepares is set',
    policy: `rules:\n  - { id: p, description: d, match: { sql: { flags: { prepares: true } } }, action: deny }`,
    input: req({ statements: [facts('PrepareStmt', ['utility', 'select'], { flags: { prepares: 'q' } })] }),
    decision: 'deny',
    rule: 'p',
  },
  {
    name: 'statement count: multi-statement strings refused',
    policy: `${READ_PUBLIC}  - { id: one, description: d, match: { sql: { statementCount: { min: 2 } } }, action: deny }`,
    input: req({ statements: [select('public.a'), select('public.b')] }),
    decision: 'deny',
    rule: 'one',
  },
  {
    name: 'statement count: one statement passes',
    policy: `${READ_PUBLIC}  - { id: one, description: d, match: { sql: { statementCount: { min: 2 } } }, action: deny }`,
    input: req(),
    decision: 'allow',
    rule: 'read',
  },
  // --- unknown and unparseable --------------------------------------------------------------------
  {
    name: 'unknown class: an allow-all rule does not cover it',
    policy: `rules:\n  - { id: all, description: d, action: allow }`,
    input: req({ statements: [facts('NewStmt', ['unknown'], { unknownKinds: ['NewStmt'] })] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'unknown class named explicitly',
    policy: `rules:\n  - { id: u, description: d, match: { sql: { classes: { any: [unknown] } } }, action: allow }`,
    input: req({ statements: [facts('NewStmt', ['unknown'], { unknownKinds: ['NewStmt'] })] }),
    decision: 'allow',
    rule: 'u',
  },
  {
    name: 'dynamic SQL counts as unknown',
    policy: `rules:\n  - { id: all, description: d, match: { sql: { classes: [utility] } }, action: allow }`,
    input: req({ statements: [facts('DoStmt', ['utility'], { flags: { dynamicSql: true } })] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a statement with no class counts as unknown',
    policy: `rules:\n  - { id: all, description: d, action: allow }`,
    input: req({ statements: [facts('Odd', [])] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a deny rule without SQL conditions covers unknown statements',
    policy: `rules:\n  - { id: q, description: quarantine, match: { identity: { groups: [eu] } }, action: deny }`,
    input: req({ statements: [facts('NewStmt', ['unknown'])] }),
    decision: 'deny',
    rule: 'q',
  },
  {
    name: 'unparseable: default deny',
    policy: `rules:\n  - { id: all, description: d, action: allow }`,
    input: req({ statements: 'unparseable' }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'unparseable named explicitly',
    policy: `rules:\n  - { id: u, description: d, match: { sql: { unparseable: true } }, action: allow }`,
    input: req({ statements: 'unparseable' }),
    decision: 'allow',
    rule: 'u',
  },
  {
    name: 'unparseable: a SQL-conditioned deny does not claim it',
    policy: `rules:\n  - { id: no, description: d, match: { sql: { classes: [ddl] } }, action: deny }`,
    input: req({ statements: 'unparseable' }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'EXECUTE without the prepared statement is unknown',
    policy: `rules:\n  - { id: all, description: d, match: { sql: { classes: [utility, select] } }, action: allow }`,
    input: req({ statements: [facts('ExecuteStmt', ['utility'], { flags: { executes: 'q' } })] }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'EXECUTE of an unparseable PREPARE is unparseable',
    policy: `rules:\n  - { id: u, description: d, match: { sql: { unparseable: true } }, action: deny }`,
    input: req({
      sql: {
        statements: [facts('ExecuteStmt', ['utility'], { flags: { executes: 'q' } })],
        resolved: 'unparseable',
        searchPathKnown: true,
      },
    }),
    decision: 'deny',
    rule: 'u',
  },
  // --- unqualified names -----------------------------------------------------------------------------
  {
    name: 'unqualified function: pg_catalog is a candidate for a pg_catalog rule',
    policy: `rules:\n  - { id: f, description: d, match: { sql: { functions: [pg_catalog.pg_read_file] } }, action: deny }\n${READ_PUBLIC.replace('rules:\n', '')}`,
    input: req({ statements: [facts('SelectStmt', ['select'], { functions: [ref('pg_read_file')] })] }),
    decision: 'deny',
    rule: 'f',
  },
  {
    name: 'unqualified relation with an unknown search_path fails closed even for a deny rule',
    policy: `rules:\n  - { id: s, description: d, match: { sql: { reads: [secrets.*] } }, action: deny }`,
    input: req({ statements: [select('api_keys')], searchPathKnown: false }),
    decision: 'deny',
    rule: 's',
  },
  {
    name: 'unknown search_path, rule on names only: no schema needed',
    policy: `rules:\n  - { id: n, description: d, match: { sql: { reads: [api_keys] } }, action: allow }`,
    input: req({ statements: [select('api_keys')], searchPathKnown: false }),
    decision: 'allow',
    rule: 'n',
  },
  {
    name: 'unknown search_path, a rule that does not match by name is not affected',
    policy: `${READ_PUBLIC}  - { id: s, description: d, match: { sql: { reads: [secrets.other] } }, action: deny }`,
    input: req({ statements: [select('public.t', 'api_keys')], searchPathKnown: false }),
    decision: 'deny',
    rule: 'read',
  },
  // --- other protocols ---------------------------------------------------------------------------------
  {
    name: 'ssh: no rule covers the protocol',
    policy: READ_PUBLIC,
    input: req({ protocol: 'ssh', sql: undefined, ssh: exec('ls') }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'ssh: argv glob',
    policy: `rules:\n  - { id: ls, description: d, match: { ssh: { argv: [ls, "**"] } }, action: allow }`,
    input: req({ protocol: 'ssh', sql: undefined, ssh: exec('ls -la /tmp') }),
    decision: 'allow',
    rule: 'ls',
  },
  {
    name: 'ssh: argv length must match without **',
    policy: `rules:\n  - { id: ls, description: d, match: { ssh: { argv: [ls] } }, action: allow }`,
    input: req({ protocol: 'ssh', sql: undefined, ssh: exec('ls /etc') }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a SQL rule does not cover ssh',
    policy: `rules:\n  - { id: all, description: d, action: allow }`,
    input: req({ protocol: 'ssh', sql: undefined, ssh: exec('ls') }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'http: method and path',
    policy: `rules:\n  - { id: get, description: d, match: { http: { method: [get], path: ["/api/*"] } }, action: allow }`,
    input: req({
      protocol: 'http',
      sql: undefined,
      http: { method: 'GET', path: '/api/users', query: null, headers: [], contentType: null, body: null },
    }),
    decision: 'allow',
    rule: 'get',
  },
  {
    name: 'http: header must match',
    policy: `rules:\n  - { id: get, description: d, match: { http: { headers: { x-tenant: acme } } }, action: allow }`,
    input: req({
      protocol: 'http',
      sql: undefined,
      http: { method: 'GET', path: '/', query: null, headers: [{ name: 'X-Tenant', value: 'evil' }], contentType: null, body: null },
    }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'mcp: tool and argument',
    policy: `${SEARCH_PIN}rules:\n  - { id: t, description: d, match: { mcp: { tool: [search], arguments: { /index: "public-*" } } }, action: allow }`,
    input: req({ protocol: 'mcp', sql: undefined, mcp: searchCall({ index: 'public-docs' }) }),
    decision: 'allow',
    rule: 't',
  },
  {
    name: 'mcp: a deny for every protocol',
    policy: `${SEARCH_PIN}rules:\n  - { id: t, description: d, match: { mcp: { tool: ["*"] } }, action: allow }\n  - { id: q, description: d, match: { identity: { groups: [eu] } }, action: deny }`,
    input: req({ protocol: 'mcp', sql: undefined, mcp: searchCall({}) }),
    decision: 'deny',
    rule: 'q',
  },
];

describe('matcher cases (hand-built facts)', () => {
  for (const c of CASES) {
    test(`given ${c.name}, then ${c.decision} by ${c.rule ?? 'the default'}`, () => {
      const e = evaluate(policyOf(c.policy), c.input);
      assert.deepEqual({ decision: e.decision, rule: e.ruleId }, { decision: c.decision, rule: c.rule }, e.reason);
    });
  }
});

test('given an unknown search_path, when a rule fails closed, then the match is marked and the reason names the name', () => {
  const e = evaluate(policyOf(READ_PUBLIC), req({ statements: [select('t')], searchPathKnown: false }));
  assert.equal(e.decision, 'deny');
  assert.equal(e.matches[0]?.failClosed, true);
  assert.match(e.reason, /search_path is unknown.*t \(unqualified\).*rule read/);
});

test('given masks on two statements, when evaluated, then both rule sets are in the plan', () => {
  const p = policyOf(`${READ_PUBLIC}  - { id: a, description: d, match: { sql: { reads: [public.a] } }, action: mask, masking: pii }
  - { id: b, description: d, match: { sql: { reads: [public.b] } }, action: mask, masking: cards }`);
  const e = evaluate(p, req({ statements: [select('public.a'), select('public.b')] }));
  assert.equal(e.decision, 'mask');
  assert.deepEqual(e.masking, ['pii', 'cards']);
});

test('given two mask rules on one statement, when evaluated, then both sets, in rule order, and the reason names both', () => {
  const p = policyOf(`${READ_PUBLIC}  - { id: b, description: d, match: { sql: { reads: [public.a] } }, action: mask, masking: cards }
  - { id: a, description: d, match: { sql: { reads: [public.*] } }, action: mask, masking: pii }`);
  const e = evaluate(p, req({ statements: [select('public.a')] }));
  assert.deepEqual([e.decision, e.ruleId, e.masking], ['mask', 'read', ['cards', 'pii']]);
  assert.equal(e.reason, 'read public; masked by b (masking rule set cards), a (masking rule set pii)');
});

test('given a masked statement beside one that needs approval, when evaluated, then approve and the plan waits with it', () => {
  const p =
    policyOf(`${READ_PUBLIC}  - { id: ask, description: d, match: { sql: { classes: [delete] } }, action: approve, approval: { groups: [a] } }
  - { id: m, description: d, match: { sql: { reads: [public.a] } }, action: mask, masking: pii }`);
  const e = evaluate(p, req({ statements: [select('public.a'), facts('DeleteStmt', ['delete'])] }));
  assert.deepEqual([e.decision, e.ruleId, e.masking], ['approve', 'ask', ['pii']]);
});

test('given a masked statement beside a denied one, when evaluated, then deny and no plan', () => {
  const p = policyOf(`${READ_PUBLIC}  - { id: m, description: d, match: { sql: { reads: [public.a] } }, action: mask, masking: pii }`);
  const e = evaluate(p, req({ statements: [select('public.a'), facts('DeleteStmt', ['delete'])] }));
  assert.deepEqual([e.decision, e.masking], ['deny', []]);
});

test('given a protocol no rule covers, then the reason says so', () => {
  const e = evaluate(
    policyOf(READ_PUBLIC),
    req({ protocol: 'http', sql: undefined, http: { method: 'GET', path: '/', query: null, headers: [], contentType: null, body: null } }),
  );
  assert.match(e.reason, /no rule covers protocol http/);
});

test('given unknown facts, then the reason names what the classifier did not understand', () => {
  const e = evaluate(policyOf(READ_PUBLIC), req({ statements: [facts('NewStmt', ['unknown'], { unknownKinds: ['NewStmt'] })] }));
  assert.match(e.reason, /does not understand.*NewStmt/);
});

test('given an empty query, when evaluated, then it is allowed without a rule: nothing runs', () => {
  const e = evaluate(policyOf(READ_PUBLIC), req({ statements: [] }));
  assert.equal(e.decision, 'allow');
  assert.equal(e.ruleId, null);
  assert.match(e.reason, /no statement/);
});

export const MATCHER_CASE_COUNT = CASES.length;

test('given one compiled policy, when the same requester asks at other times and others ask, then time windows and identities are re-checked', () => {
  // Rule applicability is worked out once per requester and policy; time windows must not be.
  const policy = policyOf(`rules:
  - { id: office, description: d, match: { identity: { groups: [agents] }, time: { hours: "08:00-18:00" } }, action: allow }
  - { id: lunch, description: d, match: { identity: { groups: [agents] } }, except: { identity: { groups: [eu] }, time: { hours: "12:00-13:00" } }, action: deny }`);
  const at = (iso: string, identity = ALICE): { decision: Decision; rule: string | null } => {
    const e = evaluate(policy, req({ identity, timeUs: Date.parse(iso) * 1000 }));
    return { decision: e.decision, rule: e.ruleId };
  };
  assert.deepEqual(at('2026-01-05T12:30:00Z'), { decision: 'allow', rule: 'office' });
  assert.deepEqual(at('2026-01-05T14:00:00Z'), { decision: 'deny', rule: 'lunch' });
  assert.deepEqual(at('2026-01-05T20:00:00Z'), { decision: 'deny', rule: 'lunch' });
  assert.deepEqual(at('2026-01-05T12:30:00Z'), { decision: 'allow', rule: 'office' });
  const us = { ...ALICE, groups: ['agents', 'us'] };
  assert.deepEqual(at('2026-01-05T12:30:00Z', us), { decision: 'deny', rule: 'lunch' });
  assert.deepEqual(at('2026-01-05T12:30:00Z', { ...ALICE, groups: ['eu'] }), { decision: 'deny', rule: null });
  assert.deepEqual(at('2026-01-05T12:30:00Z'), { decision: 'allow', rule: 'office' });
});
