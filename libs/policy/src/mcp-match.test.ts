// Given a policy with MCP conditions (inline YAML) and an MCP request (built with mcpInput from
// recorded fields, as the processor does), when evaluated, then this decision by this rule.
// Fail-closed cases included: arguments the policy cannot read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { McpRequest } from '@agentgate/events';
import { compilePolicy, evaluate, mcpInput, type CompiledPolicy, type Decision, type McpInput, type PolicyInput } from './index.js';

export const FP = (c: string): string => `sha256:${c.repeat(64)}`;
/** Every tool these tests call on connection files, pinned with FP('a'). */
const PINS = `mcpPins:
  files: { read_text_file: "${FP('a')}", write_file: "${FP('a')}", search: "${FP('a')}" }
`;

function policyOf(rules: string): CompiledPolicy {
  const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\n${PINS}masking: { pii: { detectors: [email] } }\nrules:\n${rules}` }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

type Fields = Partial<Omit<McpRequest, 'kind'>>;
const mcp = (method: string, f: Fields = {}): McpInput =>
  mcpInput({
    method,
    name: f.name ?? null,
    uri: f.uri ?? null,
    arguments: f.arguments ?? null,
    argumentsBytes: f.argumentsBytes ?? (f.arguments ? Buffer.byteLength(f.arguments) : 0),
    toolFingerprint: f.toolFingerprint === undefined ? FP('a') : f.toolFingerprint,
    tools: f.tools ?? [],
  });
const call = (tool: string, args?: unknown): McpInput =>
  mcp('tools/call', { name: tool, ...(args === undefined ? {} : { arguments: typeof args === 'string' ? args : JSON.stringify(args) }) });

const req = (m: McpInput, groups = ['agents']): PolicyInput => ({
  protocol: 'mcp',
  connection: 'files',
  identity: { subject: 'a', issuer: 'i', groups, actChain: [] },
  timeUs: 0,
  mcp: m,
});

describe('mcpInput', () => {
  test('given arguments as JSON text, then parsed', () => {
    assert.deepEqual(call('x', { path: '/a' }).arguments, { json: { path: '/a' } });
  });
  test('given no arguments, then null (not unreadable)', () => {
    assert.equal(call('x').arguments, null);
  });
  test('given arguments not recorded (over the audit cap), then unreadable', () => {
    assert.equal(mcp('tools/call', { name: 'x', arguments: null, argumentsBytes: 70_000 }).arguments, 'unreadable');
  });
  test('given arguments that do not parse, then unreadable', () => {
    assert.equal(call('x', '{"path": ').arguments, 'unreadable');
  });
});

interface Case {
  name: string;
  rules: string;
  input: McpInput;
  decision: Decision;
  rule: string | null;
  groups?: string[];
}

const ALLOW_READ = `  - { id: read, description: d, match: { mcp: { tool: [read_*] } }, action: allow }\n`;
const ALLOW_ALL = `  - { id: all, description: d, match: { protocol: [mcp], connection: [files] }, action: allow }\n`;
const UNDER_DEMO = `  - { id: demo, description: d, match: { mcp: { tool: [read_text_file], arguments: { /path: "/demo/*" } } }, action: allow }\n`;
const DENY_SECRET = `  - { id: nosecret, description: d, message: no, match: { mcp: { tool: ["*"], arguments: { /path: "*secret*" } } }, action: deny }\n`;

const CASES: Case[] = [
  // --- method and names ------------------------------------------------------------------------
  { name: 'tool glob', rules: ALLOW_READ, input: call('read_text_file'), decision: 'allow', rule: 'read' },
  { name: 'tool glob, other tool', rules: ALLOW_READ, input: call('write_file'), decision: 'deny', rule: null },
  {
    name: 'a tool rule is for tools/call only (a prompt of that name)',
    rules: ALLOW_READ,
    input: mcp('prompts/get', { name: 'read_text_file' }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'a deny tool rule does not hit resources/read',
    rules: `${ALLOW_ALL}  - { id: no, description: d, match: { mcp: { tool: ["*"] } }, action: deny }\n`,
    input: mcp('resources/read', { uri: 'file:///x' }),
    decision: 'allow',
    rule: 'all',
  },
  {
    name: 'method glob',
    rules: `  - { id: m, description: d, match: { mcp: { method: ["resources/*"] } }, action: allow }\n`,
    input: mcp('resources/read', { uri: 'file:///x' }),
    decision: 'allow',
    rule: 'm',
  },
  {
    name: 'method glob, other method',
    rules: `  - { id: m, description: d, match: { mcp: { method: ["resources/*"] } }, action: allow }\n`,
    input: mcp('prompts/get', { name: 'p' }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'prompt glob',
    rules: `  - { id: p, description: d, match: { mcp: { prompt: ["simple*"] } }, action: allow }\n`,
    input: mcp('prompts/get', { name: 'simple-prompt' }),
    decision: 'allow',
    rule: 'p',
  },
  {
    name: 'a prompt rule is for prompts/get only',
    rules: `  - { id: p, description: d, match: { mcp: { prompt: ["*"] } }, action: allow }\n`,
    input: call('search'),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'resource glob on the URI',
    rules: `  - { id: r, description: d, match: { mcp: { resource: ["demo://resource/static/*"] } }, action: allow }\n`,
    input: mcp('resources/read', { uri: 'demo://resource/static/document/1' }),
    decision: 'allow',
    rule: 'r',
  },
  {
    name: 'a resource rule is for resources/read only',
    rules: `  - { id: r, description: d, match: { mcp: { resource: ["*"] } }, action: allow }\n`,
    input: mcp('prompts/get', { name: 'x' }),
    decision: 'deny',
    rule: null,
  },
  // --- arguments: JSON pointers as HTTP json ----------------------------------------------------
  { name: 'argument glob', rules: UNDER_DEMO, input: call('read_text_file', { path: '/demo/a.txt' }), decision: 'allow', rule: 'demo' },
  {
    name: 'argument glob, outside',
    rules: UNDER_DEMO,
    input: call('read_text_file', { path: '/etc/passwd' }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'argument: a non-string value is compared as its JSON text',
    rules: `  - { id: n, description: d, match: { mcp: { tool: [search], arguments: { /limit: "10", /deep: "false" } } }, action: allow }\n`,
    input: call('search', { limit: 10, deep: false }),
    decision: 'allow',
    rule: 'n',
  },
  {
    name: 'argument: a nested pointer',
    rules: `  - { id: n, description: d, match: { mcp: { tool: [search], arguments: { /paths/0: "/demo/*" } } }, action: allow }\n`,
    input: call('search', { paths: ['/demo/x', '/etc'] }),
    decision: 'allow',
    rule: 'n',
  },
  // fail closed: what the policy cannot read or does not find
  { name: 'allow: missing argument', rules: UNDER_DEMO, input: call('read_text_file', { other: 1 }), decision: 'deny', rule: null },
  { name: 'allow: no arguments', rules: UNDER_DEMO, input: call('read_text_file'), decision: 'deny', rule: null },
  {
    name: 'allow: unreadable arguments (over the cap)',
    rules: UNDER_DEMO,
    input: mcp('tools/call', { name: 'read_text_file', arguments: null, argumentsBytes: 100_000 }),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'allow: arguments that do not parse',
    rules: UNDER_DEMO,
    input: call('read_text_file', '{"path":"/demo/'),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'deny: argument matches',
    rules: `${ALLOW_ALL}${DENY_SECRET}`,
    input: call('read_text_file', { path: '/x/secret.txt' }),
    decision: 'deny',
    rule: 'nosecret',
  },
  {
    name: 'deny: argument does not match',
    rules: `${ALLOW_ALL}${DENY_SECRET}`,
    input: call('read_text_file', { path: '/x' }),
    decision: 'allow',
    rule: 'all',
  },
  {
    name: 'deny: unreadable arguments match (padding past the cap is no way around it)',
    rules: `${ALLOW_ALL}${DENY_SECRET}`,
    input: mcp('tools/call', { name: 'read_text_file', arguments: null, argumentsBytes: 100_000 }),
    decision: 'deny',
    rule: 'nosecret',
  },
  {
    name: 'deny: unparseable arguments match',
    rules: `${ALLOW_ALL}${DENY_SECRET}`,
    input: call('read_text_file', '{'),
    decision: 'deny',
    rule: 'nosecret',
  },
  {
    name: 'deny: a missing argument does not match',
    rules: `${ALLOW_ALL}${DENY_SECRET}`,
    input: call('search', { q: 'x' }),
    decision: 'allow',
    rule: 'all',
  },
  {
    name: 'approve: unreadable arguments need the approval',
    rules: `${ALLOW_ALL}  - { id: ask, description: d, match: { mcp: { tool: [write_file], arguments: { /path: "/shared/*" } } }, action: approve, approval: { groups: [approvers] } }\n`,
    input: mcp('tools/call', { name: 'write_file', arguments: null, argumentsBytes: 100_000 }),
    decision: 'approve',
    rule: 'ask',
  },
  // --- protocol and identity ---------------------------------------------------------------------
  {
    name: 'an allow rule without protocol covers postgres only',
    rules: `  - { id: any, description: d, match: { identity: { groups: [agents] } }, action: allow }\n`,
    input: call('search'),
    decision: 'deny',
    rule: null,
  },
  {
    name: 'identity still applies',
    rules: `  - { id: read, description: d, match: { identity: { groups: [agents] }, mcp: { tool: [read_*] } }, action: allow }\n`,
    input: call('read_text_file'),
    decision: 'deny',
    rule: null,
    groups: ['other'],
  },
];

describe('MCP conditions', () => {
  for (const c of CASES) {
    test(`given ${c.name}, then ${c.decision} by ${c.rule ?? 'the default'}`, () => {
      const e = evaluate(policyOf(c.rules), req(c.input, c.groups));
      assert.deepEqual({ decision: e.decision, rule: e.ruleId }, { decision: c.decision, rule: c.rule }, e.reason);
    });
  }
});

test('given a mask rule on mcp, when a call is allowed, then it is masked; unreadable arguments mask too', () => {
  const p = policyOf(
    `${ALLOW_ALL}  - { id: m, description: d, match: { protocol: [mcp], connection: [files], mcp: { arguments: { /path: "/pii/*" } } }, action: mask, masking: pii }\n`,
  );
  const masked = evaluate(p, req(call('read_text_file', { path: '/pii/x' })));
  assert.deepEqual([masked.decision, masked.ruleId, masked.masking], ['mask', 'all', ['pii']]);
  const plain = evaluate(p, req(call('read_text_file', { path: '/pub/x' })));
  assert.deepEqual([plain.decision, plain.masking], ['allow', []]);
  const unreadable = evaluate(p, req(call('read_text_file', '{')));
  assert.deepEqual([unreadable.decision, unreadable.masking], ['mask', ['pii']]);
});

test('given no rule allows a call, then the default reason names the method and the tool or URI', () => {
  const p = policyOf(ALLOW_READ);
  assert.equal(evaluate(p, req(call('write_file'))).reason, 'no rule allows this mcp tools/call write_file (default deny)');
  assert.equal(
    evaluate(p, req(mcp('resources/read', { uri: 'file:///etc/passwd' }))).reason,
    'no rule allows this mcp resources/read file:///etc/passwd (default deny)',
  );
  assert.equal(evaluate(p, req(mcp('sampling/createMessage'))).reason, 'no rule allows this mcp sampling/createMessage (default deny)');
});

describe('compile errors', () => {
  const errorsOf = (rules: string, more = ''): string[] => {
    const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\n${more}rules:\n${rules}` }]);
    return r.ok ? [] : r.errors.map((e) => e.message);
  };
  const cases: [string, string, RegExp][] = [
    [
      'an unknown method',
      `  - { id: x, description: d, match: { mcp: { method: [tool/call] } }, action: allow }\n`,
      /method "tool\/call" is not an MCP method/,
    ],
    [
      'tool and prompt in one rule',
      `  - { id: x, description: d, match: { mcp: { tool: [a], prompt: [b] } }, action: allow }\n`,
      /one method per rule; this one has tool, prompt/,
    ],
    [
      'a method that excludes the tool',
      `  - { id: x, description: d, match: { mcp: { method: [tools/list], tool: [a] } }, action: allow }\n`,
      /does not include tools\/call, which tool needs/,
    ],
    [
      'a bad JSON pointer',
      `  - { id: x, description: d, match: { mcp: { arguments: { path: "*" } } }, action: allow }\n`,
      /a JSON pointer/,
    ],
    ['an unknown mcp key', `  - { id: x, description: d, match: { mcp: { tools: [a] } }, action: allow }\n`, /unknown key "tools"/],
    [
      'mcp beside http',
      `  - { id: x, description: d, match: { mcp: { tool: [a] }, http: { method: [GET] } }, action: allow }\n`,
      /one protocol per rule/,
    ],
  ];
  for (const [name, rules, want] of cases)
    test(`given ${name}, then a compile error`, () => {
      assert.ok(
        errorsOf(rules).some((m) => want.test(m)),
        JSON.stringify(errorsOf(rules)),
      );
    });
  test('given a method glob or a known method with its naming condition, then it compiles', () => {
    assert.deepEqual(
      errorsOf(`  - { id: x, description: d, match: { mcp: { method: ["tools/*"], tool: [a] } }, action: allow }
  - { id: y, description: d, match: { mcp: { method: [sampling/createMessage, elicitation/create] } }, action: deny }\n`),
      [],
    );
  });
});
