// Given a policy with HTTP conditions (inline YAML) and an HTTP request (built with httpInput
// from recorded fields, as the processor does), when evaluated, then this decision by this rule.
// Fail-closed cases included: what the policy cannot decode or read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpRequest } from '@agentgate/events';
import {
  compilePolicy,
  decide,
  evaluate,
  httpInput,
  initialUsage,
  runPolicyTests,
  type CompiledPolicy,
  type Decision,
  type PolicyInput,
} from './index.js';
import { isJsonContentType } from './http-input.js';
import { queryParams, routedPaths } from './http-match.js';
import { jsonPointer } from './json-match.js';
import { requestEvent } from './test-events.js';
import type { HttpInput } from './types.js';

function policyOf(yaml: string): CompiledPolicy {
  const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\nrules:\n${yaml}` }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

interface Req {
  query?: string;
  headers?: [string, string][];
  body?: string | null;
  bodyBytes?: number;
  contentType?: string | null;
}
const http = (method: string, path: string, r: Req = {}): HttpInput =>
  httpInput({
    method,
    path,
    query: r.query ?? null,
    headers: (r.headers ?? []).map(([name, value]) => ({ name, value })),
    body: r.body ?? null,
    bodyBytes: r.bodyBytes ?? (r.body ? Buffer.byteLength(r.body) : 0),
    contentType: r.contentType === undefined ? (r.body ? 'application/json' : null) : r.contentType,
  });
const json = (method: string, path: string, body: unknown, contentType = 'application/json'): HttpInput =>
  http(method, path, { body: JSON.stringify(body), contentType });

const req = (h: HttpInput): PolicyInput => ({
  protocol: 'http',
  connection: 'registry',
  identity: { subject: 'a', issuer: 'i', groups: ['agents'], actChain: [] },
  timeUs: 0,
  http: h,
});

const READ = `  - { id: read, description: d, match: { http: { method: [GET, HEAD], path: ["/apis/ccompat/v7/**"] } }, action: allow }
  - { id: no-delete, description: d, message: no DELETE, match: { http: { method: [DELETE] } }, action: deny }
`;
const ALL = '  - { id: all, description: d, match: { http: { path: ["/**"] } }, action: allow }\n';
const NO_ADMIN = `${ALL}  - { id: no-admin, description: d, match: { http: { path: ["/admin/**"] } }, action: deny }\n`;
const SUBJECT = '  - { id: q, description: d, match: { http: { query: { subject: "orders-*" } } }, action: allow }\n';
const NO_FORCE = `${ALL}  - { id: no-force, description: d, match: { http: { query: { force: "true" } } }, action: deny }\n`;
const TENANT = '  - { id: h, description: d, match: { http: { headers: { X-Tenant: acme } } }, action: allow }\n';
const AVRO = '  - { id: avro, description: d, match: { http: { method: [POST], json: { /schemaType: AVRO } } }, action: allow }\n';
const NO_PERMANENT = `${ALL}  - { id: no-permanent, description: d, match: { http: { json: { /permanent: "true" } } }, action: deny }\n`;

type Case = [name: string, policy: string, http: HttpInput, decision: Decision, rule: string | null];
const CASES: Case[] = [
  ['GET under the tree', READ, http('GET', '/apis/ccompat/v7/subjects'), 'allow', 'read'],
  ['HEAD of the tree itself', READ, http('HEAD', '/apis/ccompat/v7'), 'allow', 'read'],
  ['a lower-case method', READ, http('get', '/apis/ccompat/v7/subjects'), 'allow', 'read'],
  [
    'a lower-case method glob',
    '  - { id: r, description: d, match: { http: { method: [get] } }, action: allow }\n',
    http('GET', '/'),
    'allow',
    'r',
  ],
  ['POST is not listed', READ, http('POST', '/apis/ccompat/v7/subjects/x/versions'), 'deny', null],
  ['DELETE is refused', READ, http('DELETE', '/apis/ccompat/v7/subjects/x'), 'deny', 'no-delete'],
  ['delete in lower case is refused', READ, http('delete', '/apis/ccompat/v7/subjects/x'), 'deny', 'no-delete'],
  ['outside the tree', READ, http('GET', '/apis/registry/v3/groups'), 'deny', null],
  ['a sibling with the same prefix', READ, http('GET', '/apis/ccompat/v7x/subjects'), 'deny', null],
  ['.. out of the tree', READ, http('GET', '/apis/ccompat/v7/../../registry/v3/groups'), 'deny', null],
  ['encoded .. out of the tree', READ, http('GET', '/apis/ccompat/v7/%2e%2e/%2E%2E/registry/v3'), 'deny', null],
  ['.. within the tree', READ, http('GET', '/apis/ccompat/v7/subjects/../schemas/ids/1'), 'allow', 'read'],
  ['an encoded slash cannot be placed', READ, http('GET', '/apis/ccompat/v7/a%2Fb'), 'deny', null],
  ['an encoded backslash cannot be placed', READ, http('GET', '/apis/ccompat/v7/a%5C..%5C..'), 'deny', null],
  ['malformed percent-encoding cannot be placed', READ, http('GET', '/apis/ccompat/v7/%zz'), 'deny', null],
  ['a relative path cannot be placed', READ, http('GET', 'apis/ccompat/v7/subjects'), 'deny', null],
  ['an empty path cannot be placed', ALL, http('GET', ''), 'deny', null],
  ['a deny rule matches a path it cannot place', NO_ADMIN, http('GET', '/admin%2Fusers'), 'deny', 'no-admin'],
  ['a deny rule matches a relative path', NO_ADMIN, http('GET', 'x'), 'deny', 'no-admin'],
  ['a deny rule sees the decoded path', NO_ADMIN, http('GET', '/%61dmin/users'), 'deny', 'no-admin'],
  ['a deny rule sees through matrix parameters', NO_ADMIN, http('GET', '/admin;x=1/users'), 'deny', 'no-admin'],
  ['an allow rule must hold with and without matrix parameters', READ, http('GET', '/apis;v=1/ccompat/v7/subjects'), 'deny', null],
  ['matrix parameters inside the tree', READ, http('GET', '/apis/ccompat/v7/subjects;x=1'), 'allow', 'read'],
  [
    '* stays within a segment',
    '  - { id: r, description: d, match: { http: { path: ["/subjects/*/versions"] } }, action: allow }\n',
    http('GET', '/subjects/a/b/versions'),
    'deny',
    null,
  ],
  [
    '** crosses segments',
    '  - { id: r, description: d, match: { http: { path: ["/subjects/**/versions"] } }, action: allow }\n',
    http('GET', '/subjects/a/b/versions'),
    'allow',
    'r',
  ],
  ['query: the parameter matches', SUBJECT, http('GET', '/', { query: 'subject=orders-value&x=1' }), 'allow', 'q'],
  ['query: decoded (%2D, +)', SUBJECT, http('GET', '/', { query: 'subject=orders%2Dmy+value' }), 'allow', 'q'],
  ['query: an encoded name', SUBJECT, http('GET', '/', { query: 'sub%6Aect=orders-x' }), 'allow', 'q'],
  ['query: absent', SUBJECT, http('GET', '/', { query: 'x=orders-a' }), 'deny', null],
  ['query: no query at all', SUBJECT, http('GET', '/'), 'deny', null],
  ['query: another value', SUBJECT, http('GET', '/', { query: 'subject=payments-value' }), 'deny', null],
  [
    'query: an allow rule needs every repeated value',
    SUBJECT,
    http('GET', '/', { query: 'subject=orders-a&subject=payments' }),
    'deny',
    null,
  ],
  ['query: malformed encoding is not allowed', SUBJECT, http('GET', '/', { query: 'subject=orders-%zz' }), 'deny', null],
  [
    'query: a deny rule matches some repeated value',
    NO_FORCE,
    http('DELETE', '/s', { query: 'force=false&force=true' }),
    'deny',
    'no-force',
  ],
  ['query: a deny rule, another value', NO_FORCE, http('DELETE', '/s', { query: 'force=false' }), 'allow', 'all'],
  ['query: a deny rule matches a query it cannot decode', NO_FORCE, http('DELETE', '/s', { query: 'force=%zz' }), 'deny', 'no-force'],
  ['headers: the name in any case', TENANT, http('GET', '/', { headers: [['x-tenant', 'acme']] }), 'allow', 'h'],
  ['headers: another value', TENANT, http('GET', '/', { headers: [['X-Tenant', 'evil']] }), 'deny', null],
  ['headers: absent', TENANT, http('GET', '/'), 'deny', null],
  [
    'headers: an allow rule needs every repeated value',
    TENANT,
    http('GET', '/', {
      headers: [
        ['x-tenant', 'acme'],
        ['x-tenant', 'evil'],
      ],
    }),
    'deny',
    null,
  ],
  ['json: the value matches', AVRO, json('POST', '/s', { schemaType: 'AVRO', schema: '{}' }), 'allow', 'avro'],
  [
    'json: a +json media type with parameters',
    AVRO,
    json('POST', '/s', { schemaType: 'AVRO' }, 'application/vnd.schemaregistry.v1+json; charset=utf-8'),
    'allow',
    'avro',
  ],
  ['json: another value', AVRO, json('POST', '/s', { schemaType: 'PROTOBUF' }), 'deny', null],
  ['json: the member is absent', AVRO, json('POST', '/s', { schema: '{}' }), 'deny', null],
  ['json: a body that is not JSON by its content type', AVRO, json('POST', '/s', { schemaType: 'AVRO' }, 'text/plain'), 'deny', null],
  ['json: no content type', AVRO, http('POST', '/s', { body: '{"schemaType":"AVRO"}', contentType: null }), 'deny', null],
  ['json: no body', AVRO, http('POST', '/s', { contentType: 'application/json' }), 'deny', null],
  ['json: an unparseable body', AVRO, http('POST', '/s', { body: '{"schemaType":"AVRO"' }), 'deny', null],
  [
    'json: a body over the audit cap',
    AVRO,
    http('POST', '/s', { body: null, bodyBytes: 100_000, contentType: 'application/json' }),
    'deny',
    null,
  ],
  ['json: a non-string as its JSON text', NO_PERMANENT, json('DELETE', '/s', { permanent: true }), 'deny', 'no-permanent'],
  ['json: a string "true" is not true', NO_PERMANENT, json('DELETE', '/s', { permanent: 'false' }), 'allow', 'all'],
  [
    'json: a deny rule matches a JSON body over the audit cap',
    NO_PERMANENT,
    http('DELETE', '/s', { body: null, bodyBytes: 100_000, contentType: 'application/json' }),
    'deny',
    'no-permanent',
  ],
  [
    'json: a deny rule matches an unparseable JSON body',
    NO_PERMANENT,
    http('DELETE', '/s', { body: '{"permanent": tru' }),
    'deny',
    'no-permanent',
  ],
  [
    'json: a deny rule does not match a text body',
    NO_PERMANENT,
    http('DELETE', '/s', { body: 'permanent=true', contentType: 'text/plain' }),
    'allow',
    'all',
  ],
  [
    'json: array indexes and escaped tokens',
    '  - { id: j, description: d, match: { http: { json: { /items/1/a~1b: "x*", /n: "[1,2]" } } }, action: allow }\n',
    json('POST', '/', { items: [{}, { 'a/b': 'xyz' }], n: [1, 2] }),
    'allow',
    'j',
  ],
  [
    'json: an object member named like a prototype property is not there',
    '  - { id: j, description: d, match: { http: { json: { /constructor: "*" } } }, action: allow }\n',
    json('POST', '/', {}),
    'deny',
    null,
  ],
  [
    'all conditions must hold',
    '  - { id: r, description: d, match: { http: { method: [POST], path: ["/s/**"], query: { a: "1" }, headers: { x-t: acme }, json: { /k: v } } }, action: allow }\n',
    http('POST', '/s/x', { query: 'a=1', headers: [['x-t', 'acme']], body: '{"k":"w"}' }),
    'deny',
    null,
  ],
  [
    'all conditions hold',
    '  - { id: r, description: d, match: { http: { method: [POST], path: ["/s/**"], query: { a: "1" }, headers: { x-t: acme }, json: { /k: v } } }, action: allow }\n',
    http('POST', '/s/x', { query: 'a=1', headers: [['x-t', 'acme']], body: '{"k":"v"}' }),
    'allow',
    'r',
  ],
  [
    'an allow rule without http conditions covers postgres only',
    '  - { id: all, description: d, action: allow }\n',
    http('GET', '/'),
    'deny',
    null,
  ],
];

describe('http conditions', () => {
  for (const [name, policy, h, decision, rule] of CASES) {
    test(`given ${name}, then ${decision} by ${rule ?? 'the default'}`, () => {
      const e = evaluate(policyOf(policy), req(h));
      assert.deepEqual({ decision: e.decision, rule: e.ruleId }, { decision, rule }, e.reason);
    });
  }
});

test('given an HTTP request no rule allows, then the reason names the method', () => {
  const e = evaluate(policyOf(READ), req(http('POST', '/apis/ccompat/v7/subjects/x/versions')));
  assert.equal(e.reason, 'no rule allows this http POST request (default deny)');
});

test('given a mask rule on protocol http, when a GET is allowed, then it is masked', () => {
  const p = policyOf(`${READ}  - { id: m, description: d, match: { protocol: [http] }, action: mask, masking: pii }
masking:
  pii: { detectors: [card] }`);
  const e = evaluate(p, req(http('GET', '/apis/ccompat/v7/subjects')));
  assert.deepEqual([e.decision, e.ruleId, e.masking], ['mask', 'read', ['pii']]);
  const d = evaluate(p, req(http('DELETE', '/apis/ccompat/v7/subjects/x')));
  assert.deepEqual([d.decision, d.ruleId, d.masking], ['deny', 'no-delete', []]);
});

test('routed paths: decoded, normalised, with and without matrix parameters', () => {
  assert.deepEqual(routedPaths('/a/%62/./c/../d'), ['/a/b/d']);
  assert.deepEqual(routedPaths('/a;x=1/b;y'), ['/a;x=1/b;y', '/a/b']);
  assert.deepEqual(routedPaths('/a%3Bx/b'), ['/a;x/b']);
  assert.equal(routedPaths('/a%2fb'), null);
  assert.equal(routedPaths('/a/%E0%A4%A'), null);
  assert.equal(routedPaths('a/b'), null);
});

test('query parameters: form decoding, bare names, malformed encoding', () => {
  assert.deepEqual(queryParams('a=1&b=x+y%21&flag&&c=%3D'), [
    ['a', '1'],
    ['b', 'x y!'],
    ['flag', ''],
    ['c', '='],
  ]);
  assert.deepEqual(queryParams(null), []);
  assert.equal(queryParams('a=%'), null);
});

test('JSON pointers (RFC 6901)', () => {
  const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'm~n': 8, n: null };
  assert.equal(jsonPointer(doc, ''), doc);
  assert.equal(jsonPointer(doc, '/foo/0'), 'bar');
  assert.equal(jsonPointer(doc, '/'), 0);
  assert.equal(jsonPointer(doc, '/a~1b'), 1);
  assert.equal(jsonPointer(doc, '/m~0n'), 8);
  assert.equal(jsonPointer({ '~1': 5 }, '/~01'), 5);
  assert.equal(jsonPointer(doc, '/n'), null);
  assert.equal(jsonPointer(doc, '/foo/01'), undefined);
  assert.equal(jsonPointer(doc, '/foo/2'), undefined);
  assert.equal(jsonPointer(doc, '/foo/-'), undefined);
  assert.equal(jsonPointer(doc, '/toString'), undefined);
  assert.equal(jsonPointer(doc, 'foo'), undefined);
});

test('JSON content types', () => {
  for (const t of ['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.schemaregistry.v1+json', 'text/json'])
    assert.ok(isJsonContentType(t), t);
  for (const t of [null, 'text/plain', 'application/jsonp', 'application/x-www-form-urlencoded', 'multipart/form-data'])
    assert.ok(!isJsonContentType(t), String(t));
});

test('given recorded fields, then httpInput parses a JSON body once and takes the content type from the header when not recorded', () => {
  const h = httpInput({
    method: 'POST',
    path: '/s',
    query: null,
    headers: [{ name: 'Content-Type', value: 'application/json' }],
    body: '{"a":[1]}',
    bodyBytes: 9,
    contentType: null,
  });
  assert.deepEqual([h.contentType, h.body, h.headers[0]?.name], ['application/json', { json: { a: [1] } }, 'content-type']);
  const big = httpInput({
    method: 'POST',
    path: '/s',
    query: null,
    headers: [],
    body: null,
    bodyBytes: 70_000,
    contentType: 'application/json',
  });
  assert.equal(big.body, 'unreadable');
  const text = httpInput({ method: 'POST', path: '/s', query: null, headers: [], body: 'x', bodyBytes: 1, contentType: 'text/plain' });
  assert.equal(text.body, null);
});

test('given HTTP conditions the compiler cannot accept, then it names the rule and the key', () => {
  const errors = (rule: string): string => {
    const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\nrules:\n  - ${rule}\n` }]);
    return r.ok ? '' : r.errors.map((e) => `${e.line}: ${e.message}`).join('\n');
  };
  assert.match(
    errors('{ id: x, description: d, match: { http: { headers: { Authorization: "Bearer *" } } }, action: deny }'),
    /authorization is never recorded/,
  );
  assert.match(
    errors('{ id: x, description: d, match: { http: { json: { schemaType: AVRO } } }, action: allow }'),
    /^3: rules\.0\.match\.http\.json: key "schemaType" is not allowed here \(a JSON pointer/,
  );
  assert.match(errors('{ id: x, description: d, match: { http: { json: { "/a~2": x } } }, action: allow }'), /key "\/a~2" is not allowed/);
  assert.match(errors('{ id: x, description: d, match: { http: { path: ["apis/**"] } }, action: allow }'), /path\.0: does not match/);
  assert.match(errors('{ id: x, description: d, match: { http: { body: x } } , action: allow }'), /unknown key "body"/);
  assert.equal(errors('{ id: x, description: d, match: { http: { json: { "": "*", "/a~0b/0": x } } }, action: allow }'), '');
});

test('given policy tests with HTTP cases, then query maps, bodies and headers reach the evaluation', () => {
  const r = compilePolicy([
    {
      name: 'p.yaml',
      text: `policy: t
rules:
  - { id: avro, description: d, match: { http: { method: [POST], path: ["/s/**"], query: { normalize: "true" }, json: { /schemaType: AVRO } } }, action: allow }
  - { id: tenant, description: d, match: { http: { method: [GET], headers: { x-tenant: acme } } }, action: allow }
tests:
  - { name: avro, http: { method: POST, path: /s/x, query: { normalize: "true" }, body: { schemaType: AVRO } }, expect: { decision: allow, rule: avro } }
  - { name: raw query, http: { method: POST, path: /s/x, query: "normalize=true", body: '{"schemaType":"AVRO"}' }, expect: { decision: allow, rule: avro } }
  - { name: text body, http: { method: POST, path: /s/x, query: "normalize=true", body: '{"schemaType":"AVRO"}', contentType: text/plain }, expect: { decision: deny, rule: null } }
  - { name: protobuf, http: { method: POST, path: /s/x, query: "normalize=true", body: { schemaType: PROTOBUF } }, expect: { decision: deny, rule: null } }
  - { name: tenant, http: { method: GET, path: /, headers: { X-Tenant: acme } }, expect: { decision: allow, rule: tenant } }
`,
    },
  ]);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const results = runPolicyTests(r.policy, r.tests, () => {
    throw new Error('no SQL in these cases');
  });
  assert.deepEqual(
    results.filter((x) => !x.pass).map((x) => `${x.name}: ${JSON.stringify(x.actual)}`),
    [],
  );
  assert.equal(results.length, 5);
});

test('given a recorded HttpRequest, when decided, then the verdict reads its method, path, query and JSON body', () => {
  const policy =
    policyOf(`${READ}  - { id: no-permanent, description: d, message: no permanent deletes, match: { http: { query: { permanent: "true" } } }, action: deny }
  - { id: avro, description: d, match: { http: { method: [POST], path: ["/apis/ccompat/v7/subjects/*/versions"], json: { /schemaType: AVRO } } }, action: allow }`);
  const verdict = (detail: Partial<HttpRequest>): [string, string | null] => {
    const base = requestEvent('r1', 1);
    const request = {
      ...base,
      payload: {
        ...base.payload,
        protocol: 'http',
        connection: 'registry',
        detail: {
          kind: 'http' as const,
          method: 'GET',
          path: '/',
          query: null,
          headers: [],
          bodyDigest: null,
          kubernetesVerb: null,
          kubernetesResource: null,
          kubernetesNamespace: null,
          body: null,
          bodyBytes: 0,
          contentType: null,
          ...detail,
        },
      },
    };
    const [e] = decide(
      { type: 'DecideRequest', subject: { request, classification: { statementKind: 'http', statementKinds: [] } } },
      {
        policy,
        usage: initialUsage(),
      },
    );
    assert.ok(e?.eventType === 'VerdictIssued');
    return [e.payload.decision, e.payload.ruleId];
  };
  assert.deepEqual(verdict({ method: 'GET', path: '/apis/ccompat/v7/subjects' }), ['allow', 'read']);
  assert.deepEqual(verdict({ method: 'GET', path: '/apis/ccompat/v7/subjects', query: 'permanent=true' }), ['deny', 'no-permanent']);
  const body = '{"schemaType":"AVRO","schema":"[REDACTED:card]"}';
  const post = { method: 'POST', path: '/apis/ccompat/v7/subjects/s/versions', body, bodyBytes: 60 };
  assert.deepEqual(verdict({ ...post, contentType: 'application/vnd.schemaregistry.v1+json' }), ['allow', 'avro']);
  assert.deepEqual(verdict({ ...post, contentType: 'text/plain' }), ['deny', null]);
  assert.deepEqual(verdict({ ...post, body: null, bodyBytes: 100_000, contentType: 'application/json' }), ['deny', null]);
});
