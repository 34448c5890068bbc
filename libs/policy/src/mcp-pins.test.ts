// Given pinned MCP tools (mcpPins), when a tools/call or tools/list is decided, then the pins are
// checked before any rule (server unapproved, tool unapproved, tool changed: each with its error
// code), and a tools/list shows only the tools the requester could call (visibleTools).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEventOf, McpRequest, VerdictIssued } from '@agentgate/events';
import {
  compilePolicy,
  decide,
  evaluate,
  initialUsage,
  runPolicyTests,
  verdictFields,
  visibleTools,
  type CompiledPolicy,
  type McpInput,
  type PolicyInput,
} from './index.js';
import { requestEvent } from './test-events.js';

const FP = (c: string): string => `sha256:${c.repeat(64)}`;
const PINS = `mcpPins:
  mcp-lab: { get_note: "${FP('a')}" }
  files: { read_text_file: "${FP('a')}", write_file: "${FP('a')}", create_directory: "${FP('a')}", search_files: "${FP('a')}", edit_file: "${FP('a')}" }
`;
const RULES = `rules:
  - { id: lab, description: d, match: { identity: { groups: [agents] }, mcp: { tool: ["*"] }, connection: [mcp-lab] }, action: allow }
  - { id: read, description: d, match: { identity: { groups: [agents] }, connection: [files], mcp: { tool: [read_text_file] } }, action: allow }
  - { id: search, description: d, match: { identity: { groups: [agents] }, connection: [files], mcp: { tool: [search_files], arguments: { /path: "/demo/**" } } }, action: allow }
  - { id: mkdir, description: d, match: { identity: { groups: [agents] }, connection: [files], mcp: { tool: [create_directory] } }, action: approve, approval: { groups: [approvers] } }
  - { id: edit, description: d, match: { identity: { groups: [agents] }, connection: [files], mcp: { tool: [edit_file], arguments: { /path: "/etc/*" } } }, action: allow }
  - { id: nowrite, description: d, message: no writes, match: { connection: [files], mcp: { tool: [write_file] } }, action: deny }
  - { id: m, description: d, match: { protocol: [mcp], connection: [files] }, action: mask, masking: pii }
`;
const MASKING = 'masking: { pii: { detectors: [email] } }\n';

function policyOf(text = `${PINS}${MASKING}${RULES}`): CompiledPolicy {
  const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\n${text}` }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const call = (name: string, toolFingerprint: string | null = FP('a'), args: unknown = null): McpInput => ({
  method: 'tools/call',
  name,
  uri: null,
  arguments: args === null ? null : { json: args },
  toolFingerprint,
  tools: [],
});
const list = (tools: [string, string][]): McpInput => ({
  method: 'tools/list',
  name: null,
  uri: null,
  arguments: null,
  toolFingerprint: null,
  tools: tools.map(([name, fingerprint]) => ({ name, fingerprint })),
});
const req = (m: McpInput, connection: string | null = 'files', groups = ['agents']): PolicyInput => ({
  protocol: 'mcp',
  connection,
  identity: { subject: 'a', issuer: 'i', groups, actChain: [] },
  timeUs: 0,
  mcp: m,
});

describe('pins, before any rule', () => {
  const p = policyOf();
  test('given a pinned, unchanged tool, then the rules decide', () => {
    const e = evaluate(p, req(call('read_text_file')));
    assert.deepEqual([e.decision, e.ruleId, e.errorCode], ['mask', 'read', undefined]);
  });
  test('given a server with no pins, then AG_ERR_MCP_SERVER_UNAPPROVED, though a rule allows every tool there', () => {
    const allowAll = policyOf(`${PINS}rules:\n  - { id: all, description: d, match: { protocol: [mcp] }, action: allow }\n`);
    const e = evaluate(allowAll, req(call('echo'), 'everything'));
    assert.deepEqual([e.decision, e.ruleId, e.errorCode], ['deny', null, 'AG_ERR_MCP_SERVER_UNAPPROVED']);
    assert.equal(evaluate(allowAll, req(call('get_note'), 'mcp-lab')).decision, 'allow');
  });
  test('given no connection, then AG_ERR_MCP_SERVER_UNAPPROVED', () => {
    assert.equal(evaluate(p, req(call('read_text_file'), null)).errorCode, 'AG_ERR_MCP_SERVER_UNAPPROVED');
  });
  test('given a tool the server pins do not list, then AG_ERR_MCP_TOOL_UNAPPROVED', () => {
    const e = evaluate(p, req(call('move_file')));
    assert.deepEqual([e.decision, e.ruleId, e.errorCode], ['deny', null, 'AG_ERR_MCP_TOOL_UNAPPROVED']);
  });
  test('given a changed fingerprint, then AG_ERR_MCP_TOOL_CHANGED naming tool, connection, both fingerprints', () => {
    const e = evaluate(p, req(call('get_note', FP('b')), 'mcp-lab'));
    assert.deepEqual([e.decision, e.ruleId, e.errorCode, e.masking], ['deny', null, 'AG_ERR_MCP_TOOL_CHANGED', []]);
    assert.equal(
      e.reason,
      `tool get_note on mcp-lab changed since it was approved (approved ${FP('a')}, now ${FP('b')}); refused until re-approved`,
    );
  });
  test('given a tool the server no longer lists (no fingerprint), then AG_ERR_MCP_TOOL_CHANGED', () => {
    assert.equal(evaluate(p, req(call('get_note', null), 'mcp-lab')).errorCode, 'AG_ERR_MCP_TOOL_CHANGED');
  });
  test('given other methods, then no pin check', () => {
    const e = evaluate(p, req({ ...call('x', null), method: 'prompts/get' }));
    assert.deepEqual([e.decision, e.errorCode], ['deny', undefined]);
    assert.match(e.reason, /no rule allows this mcp prompts\/get x/);
  });
  test('given the error code, then the verdict carries it; a plain denial carries AG_ERR_POLICY_DENIED', () => {
    const input = req(call('get_note', FP('b')), 'mcp-lab');
    assert.equal(verdictFields(evaluate(p, input), p, input).errorCode, 'AG_ERR_MCP_TOOL_CHANGED');
    const denied = req(call('write_file'));
    assert.deepEqual(
      [verdictFields(evaluate(p, denied), p, denied).errorCode, evaluate(p, denied).ruleId],
      ['AG_ERR_POLICY_DENIED', 'nowrite'],
    );
  });
});

describe('pins in the policy files', () => {
  const compile = (...texts: string[]) => compilePolicy(texts.map((text, i) => ({ name: `${i}.yaml`, text: `policy: t\n${text}` })));
  test('given pins in two files, then both are compiled', () => {
    const r = compile(`mcpPins: { a: { x: "${FP('a')}" } }\n`, `mcpPins: { b: { y: "${FP('b')}" } }\n`);
    assert.ok(r.ok);
    assert.deepEqual([...r.policy.mcpPins.keys()], ['a', 'b']);
    assert.equal(r.policy.mcpPins.get('b')?.get('y'), FP('b'));
  });
  test('given a connection pinned in two files, then a compile error', () => {
    const r = compile(`mcpPins: { a: { x: "${FP('a')}" } }\n`, `mcpPins: { a: { y: "${FP('b')}" } }\n`);
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /connection "a" is already pinned in 0\.yaml/);
  });
  test('given a fingerprint that is not sha256:<64 hex>, then a compile error', () => {
    const r = compile('mcpPins: { a: { x: "sha256:abc" } }\n');
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /mcpPins\.a\.x/);
  });
  test('given a changed pin, then the content hash and version change', () => {
    const a = compile(`mcpPins: { a: { x: "${FP('a')}" } }\n`);
    const b = compile(`mcpPins: { a: { x: "${FP('b')}" } }\n`);
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.contentHash, b.contentHash);
    assert.notEqual(a.policy.version, b.policy.version);
  });
});

describe('tools/list', () => {
  const p = policyOf();
  const offered: [string, string][] = [
    ['read_text_file', FP('a')],
    ['write_file', FP('a')],
    ['create_directory', FP('a')],
    ['search_files', FP('a')],
    ['edit_file', FP('a')],
    ['move_file', FP('a')],
  ];
  test('given no rule about tools/list, then allowed, without masking, and the agent sees what it could call', () => {
    const input = req(list(offered));
    const e = evaluate(p, input);
    assert.deepEqual([e.decision, e.ruleId, e.masking], ['allow', null, []]);
    // read: allowed; create_directory: approvable; search_files and edit_file: allowed for some
    // arguments (optimistic); write_file: denied; move_file: not pinned.
    assert.deepEqual(visibleTools(p, input), ['read_text_file', 'create_directory', 'search_files', 'edit_file']);
    assert.deepEqual(verdictFields(e, p, input).visibleTools, ['read_text_file', 'create_directory', 'search_files', 'edit_file']);
  });
  test('given a tool offered with another fingerprint than its pin, then hidden', () => {
    assert.deepEqual(
      visibleTools(
        p,
        req(
          list([
            ['read_text_file', FP('c')],
            ['create_directory', FP('a')],
          ]),
        ),
      ),
      ['create_directory'],
    );
  });
  test('given a tool offered twice, once changed, then hidden', () => {
    assert.deepEqual(
      visibleTools(
        p,
        req(
          list([
            ['read_text_file', FP('a')],
            ['read_text_file', FP('c')],
          ]),
        ),
      ),
      [],
    );
  });
  test('given a deny rule with an argument condition, then the tool stays visible (some call may pass); without one, hidden', () => {
    const denyArgs = policyOf(
      `${PINS}rules:\n  - { id: r, description: d, match: { connection: [files], mcp: { tool: ["*"] } }, action: allow }\n  - { id: d, description: d, match: { mcp: { tool: [read_text_file], arguments: { /path: "/etc/*" } } }, action: deny }\n`,
    );
    assert.deepEqual(visibleTools(denyArgs, req(list([['read_text_file', FP('a')]]))), ['read_text_file']);
    const denyAll = policyOf(
      `${PINS}rules:\n  - { id: r, description: d, match: { connection: [files], mcp: { tool: ["*"] } }, action: allow }\n  - { id: d, description: d, match: { mcp: { tool: [read_text_file] } }, action: deny }\n`,
    );
    assert.deepEqual(visibleTools(denyAll, req(list([['read_text_file', FP('a')]]))), []);
  });
  test('given a mask rule alone (it grants nothing), then hidden', () => {
    const maskOnly = policyOf(
      `${PINS}masking: { pii: { detectors: [email] } }\nrules:\n  - { id: m, description: d, match: { protocol: [mcp] }, action: mask, masking: pii }\n`,
    );
    assert.deepEqual(visibleTools(maskOnly, req(list([['read_text_file', FP('a')]]))), []);
  });
  test('given another identity, then it sees only what it could call', () => {
    assert.deepEqual(visibleTools(p, req(list(offered), 'files', ['others'])), []);
  });
  test('given a server without pins, then nothing is visible', () => {
    assert.deepEqual(visibleTools(p, req(list(offered), 'everything')), []);
  });
  test('given a deny rule on method tools/list, then the list is refused and shows nothing', () => {
    const denyList = policyOf(
      `${PINS}${MASKING}${RULES}  - { id: nolist, description: d, message: no, match: { mcp: { method: [tools/list] } }, action: deny }\n`,
    );
    const input = req(list(offered));
    const e = evaluate(denyList, input);
    assert.deepEqual([e.decision, e.ruleId], ['deny', 'nolist']);
    assert.deepEqual(verdictFields(e, denyList, input), {
      decision: 'deny',
      ruleId: 'nolist',
      reason: 'no',
      errorCode: 'AG_ERR_POLICY_DENIED',
      maskingPlan: [],
      visibleTools: [],
    });
  });
  test('given an approve rule for all of mcp, then tools/list is still just allowed', () => {
    const ask = policyOf(
      `${PINS}rules:\n  - { id: ask, description: d, match: { protocol: [mcp] }, action: approve, approval: { groups: [approvers] } }\n`,
    );
    const input = req(list(offered));
    assert.deepEqual(
      [evaluate(ask, input).decision, visibleTools(ask, input)],
      ['allow', ['read_text_file', 'write_file', 'create_directory', 'search_files', 'edit_file']],
    );
  });
  test('given a tools/call, then visibleTools is empty', () => {
    const input = req(call('read_text_file'));
    assert.deepEqual([visibleTools(p, input), verdictFields(evaluate(p, input), p, input).visibleTools], [[], []]);
  });
});

describe('the decider, from a recorded McpRequest', () => {
  const p = policyOf();
  const detail = (d: Partial<McpRequest>): McpRequest => ({
    kind: 'mcp',
    method: 'tools/call',
    name: null,
    uri: null,
    arguments: null,
    argumentsBytes: 0,
    argumentsDigest: null,
    toolFingerprint: null,
    tools: [],
    server: 'secure-filesystem-server 0.2.0',
    ...d,
  });
  const verdictOf = (d: McpRequest, connection = 'files'): VerdictIssued => {
    const base = requestEvent('r1', 1_000, connection);
    const request: AuditEventOf<'RequestObserved'> = { ...base, payload: { ...base.payload, protocol: 'mcp', detail: d } };
    const [v] = decide(
      { type: 'DecideRequest', subject: { request, classification: { statementKind: 'mcp', statementKinds: [] } } },
      {
        policy: p,
        usage: initialUsage(),
      },
    ) as AuditEventOf<'VerdictIssued'>[];
    return v!.payload;
  };
  test('given a tools/list, then the verdict lists the visible tools', () => {
    const v = verdictOf(
      detail({
        method: 'tools/list',
        tools: [
          { name: 'read_text_file', fingerprint: FP('a') },
          { name: 'write_file', fingerprint: FP('a') },
        ],
      }),
    );
    assert.deepEqual([v.decision, v.errorCode, v.visibleTools], ['allow', null, ['read_text_file']]);
  });
  test('given a call with its arguments, then they are read as recorded', () => {
    const v = verdictOf(
      detail({ name: 'search_files', toolFingerprint: FP('a'), arguments: '{"path":"/demo/x","pattern":"*"}', argumentsBytes: 32 }),
    );
    assert.deepEqual([v.decision, v.ruleId, v.visibleTools], ['allow', 'search', []]);
    const outside = verdictOf(detail({ name: 'search_files', toolFingerprint: FP('a'), arguments: '{"path":"/etc"}', argumentsBytes: 15 }));
    assert.deepEqual([outside.decision, outside.errorCode], ['deny', 'AG_ERR_POLICY_DENIED']);
  });
  test('given a changed tool, then the verdict carries AG_ERR_MCP_TOOL_CHANGED', () => {
    const v = verdictOf(detail({ name: 'get_note', toolFingerprint: FP('f') }), 'mcp-lab');
    assert.deepEqual([v.decision, v.ruleId, v.errorCode], ['deny', null, 'AG_ERR_MCP_TOOL_CHANGED']);
  });
});

describe('policy tests with mcp cases', () => {
  const run = (tests: string) => {
    const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\n${PINS}${MASKING}${RULES}tests:\n${tests}` }]);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return runPolicyTests(r.policy, r.tests, () => 'unparseable');
  };
  const who = 'identity: { subject: bot, groups: [agents] }';
  test('given a call, then the fingerprint defaults to the pin', () => {
    const [r] = run(`  - { name: t, ${who}, connection: files, mcp: { tool: read_text_file }, expect: { decision: mask, rule: read } }\n`);
    assert.equal(r?.pass, true, JSON.stringify(r?.actual));
  });
  test('given a fingerprint, then it is compared with the pin', () => {
    const [r] = run(
      `  - { name: t, ${who}, connection: mcp-lab, mcp: { tool: get_note, fingerprint: "${FP('9')}" }, expect: { decision: deny, rule: null } }\n`,
    );
    assert.deepEqual([r?.pass, r?.actual.errorCode], [true, 'AG_ERR_MCP_TOOL_CHANGED']);
  });
  test('given arguments, then they are sent as JSON text (a string as raw text)', () => {
    const results =
      run(`  - { name: in, ${who}, connection: files, mcp: { tool: search_files, arguments: { path: /demo/a } }, expect: { decision: mask, rule: search } }
  - { name: raw, ${who}, connection: files, mcp: { tool: search_files, arguments: '{"path":' }, expect: { decision: deny, rule: null } }\n`);
    assert.deepEqual(
      results.map((r) => [r.name, r.pass]),
      [
        ['in', true],
        ['raw', true],
      ],
    );
  });
  test('given a tools/list case, then tools default to the pins and visibleTools is compared in any order', () => {
    const results =
      run(`  - { name: ok, ${who}, connection: files, mcp: { method: tools/list }, expect: { decision: allow, visibleTools: [edit_file, search_files, create_directory, read_text_file] } }
  - { name: wrong, ${who}, connection: files, mcp: {}, expect: { decision: allow, visibleTools: [read_text_file] } }
  - { name: given, ${who}, connection: files, mcp: { tools: [read_text_file, { name: write_file, fingerprint: "${FP('a')}" }, move_file] }, expect: { decision: allow, visibleTools: [read_text_file] } }\n`);
    assert.deepEqual(
      results.map((r) => [r.name, r.pass]),
      [
        ['ok', true],
        ['wrong', false],
        ['given', true],
      ],
    );
  });
  test("given an expected error code, then it is compared with the verdict's", () => {
    const results =
      run(`  - { name: changed, ${who}, connection: mcp-lab, mcp: { tool: get_note, fingerprint: null }, expect: { decision: deny, errorCode: AG_ERR_MCP_TOOL_CHANGED } }
  - { name: wrong, ${who}, connection: mcp-lab, mcp: { tool: get_note, fingerprint: null }, expect: { decision: deny, errorCode: AG_ERR_POLICY_DENIED } }
  - { name: allowed, ${who}, connection: mcp-lab, mcp: { tool: get_note }, expect: { decision: allow, errorCode: null } }\n`);
    assert.deepEqual(
      results.map((r) => [r.name, r.pass]),
      [
        ['changed', true],
        ['wrong', false],
        ['allowed', true],
      ],
    );
  });
  test('given visibleTools on a case that is not a tools/list, then a compile error', () => {
    const r = compilePolicy([
      {
        name: 'p.yaml',
        text: `policy: t\n${PINS}${MASKING}${RULES}tests:\n  - { name: t, connection: files, mcp: { tool: read_text_file }, expect: { decision: deny, visibleTools: [] } }\n`,
      },
    ]);
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /visibleTools is for mcp tools\/list cases/);
  });
});
