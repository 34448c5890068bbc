// The ingress end to end with a fake decider: a real HTTPS listener (a throwaway certificate
// from openssl), real curl and undici as agents, a real node:http upstream that records what
// reaches it. Needs nothing but node, openssl and curl.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import type { Actor, RequestObserved, ResponseObserved, VerdictIssued } from '@agentgate/events';
import { MaskingPlans } from '@agentgate/ingress-core';
import { DETECTOR_NAMES, toVerdictRules } from '@agentgate/masking';
import { createLogger } from '@agentgate/observability';
import { Agent } from 'undici';
import { createHttpIngress, type HttpIngressServer } from './app.js';
import { parseHttpCatalog } from './connections.js';
import type { OneRequestAudit } from './exchange-audit.js';

const CARD = '4111111111111111';
const AGENT_TOKEN = 'agent-token-abc';
const UPSTREAM_SECRET = 'upstream-secret-xyz';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const dir = mkdtempSync(join(tmpdir(), 'ag-http-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');
const upstreamSeen: Seen[] = [];
/** Everything the fake audit was given, by kind. */
const recorded: { kind: string; sessionId: string; payload: unknown }[] = [];
let releaseSecondEvent: () => void = () => {};
let upstream: Server;
let ingress: HttpIngressServer;
let port = 0;
let undiciAgent: Agent;

const actor: Actor = { subject: 'demo-agent', issuer: 'test', groups: ['agents'], actChain: [], tokenId: null, authMethod: 'test' };
const maskingPlan = toVerdictRules({ version: 1, rules: [], detectors: [...DETECTOR_NAMES], defaultDetectorStrategy: { kind: 'redact' } });

function verdictFor(request: RequestObserved): VerdictIssued {
  const detail = request.detail;
  if (detail.kind !== 'http') throw new Error('not http');
  const base = {
    requestId: request.requestId,
    policyVersion: 'test@1',
    approvalId: null,
    statementDigest: null,
    shadow: false,
    requestTimeUs: 0,
    visibleTools: [],
  };
  if (detail.path === '/audit-down') throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'audit log unavailable');
  if (detail.method === 'DELETE')
    return {
      ...base,
      decision: 'deny',
      ruleId: 'no-deletes',
      reason: 'deletes are not allowed',
      errorCode: 'AG_ERR_POLICY_DENIED',
      maskingPlan: [],
    };
  if (detail.path === '/approval')
    return {
      ...base,
      decision: 'pending_approval',
      ruleId: 'ask',
      reason: 'needs a human',
      errorCode: null,
      maskingPlan: [],
      approvalId: 'ap-1',
    };
  return {
    ...base,
    decision: 'allow',
    ruleId: 'reads',
    reason: 'ok',
    errorCode: null,
    maskingPlan: detail.path === '/plain' ? [] : maskingPlan,
  };
}

function startAudit(sessionId: string): OneRequestAudit {
  const note = (kind: string, payload: unknown): void => {
    recorded.push({ kind, sessionId, payload });
  };
  return {
    openAndDecide: async (opened, p) => {
      note('SessionOpened', opened);
      note('RequestObserved', p);
      const verdict = verdictFor(p);
      note('VerdictIssued', verdict);
      return verdict;
    },
    respondAndClose: async (p, closed) => {
      note('ResponseObserved', p);
      note('SessionClosed', closed);
    },
    close: async (p) => note('SessionClosed', p),
  };
}

before(async () => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      upstreamSeen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url?.startsWith('/api/events')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(`data: first ${CARD}\n\n`);
        releaseSecondEvent = () => res.end('data: second\n\n');
        return;
      }
      const body = JSON.stringify({ items: [{ card: CARD, name: 'x' }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'set-cookie': 'up=1' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const catalog = parseHttpCatalog(
    JSON.stringify({
      connections: [
        {
          name: 'registry',
          protocol: 'http',
          baseUrl: `http://127.0.0.1:${upstreamPort}/api`,
          allowedGroups: ['agents'],
          upstreamAuth: { type: 'bearer', credential: 'env:UP' },
        },
        { name: 'closed', protocol: 'http', baseUrl: 'http://127.0.0.1:9', allowedGroups: ['agents'] },
        { name: 'admin-only', protocol: 'http', baseUrl: `http://127.0.0.1:${upstreamPort}`, allowedGroups: ['admins'] },
      ],
    }),
    {},
  );
  let ids = 0;
  ingress = createHttpIngress({
    config: {
      instanceId: 'ingress-http/test',
      maxBodyBytes: 4096,
      auditBodyBytes: 1024,
      approvalsUrl: 'http://approvals.test',
      upstreamConnectTimeoutMs: 1000,
      upstreamHeadersTimeoutMs: 5000,
      upstreamBodyTimeoutMs: 5000,
    },
    catalog,
    tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    verifyToken: async (token) => {
      if (token !== AGENT_TOKEN) throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID', 'bad signature');
      return actor;
    },
    startAudit,
    maskingPlans: new MaskingPlans({ current: { id: 'k', secret: new Uint8Array(32).fill(7) } }),
    resolveCredential: (ref) => {
      if (ref !== 'env:UP') throw new GatewayError('AG_ERR_CREDENTIAL_UNAVAILABLE');
      return UPSTREAM_SECRET;
    },
    logger: createLogger({ service: 'ingress-http-test', level: 'silent' }),
    newId: () => `id-${++ids}`,
  });
  port = await ingress.listen('127.0.0.1', 0);
  undiciAgent = new Agent({ connect: { ca: readFileSync(certFile, 'utf8') } });
});

after(async () => {
  await undiciAgent.close();
  await ingress.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

interface CurlResult {
  status: number;
  headers: string;
  body: string;
}

/** Real curl, verifying the ingress's certificate; extra args go before the URL. */
function curl(path: string, args: string[] = [], token: string | null = AGENT_TOKEN): Promise<CurlResult> {
  const headersFile = join(dir, `h-${Math.random()}`);
  const bodyFile = join(dir, `b-${Math.random()}`);
  const auth = token === null ? [] : ['-H', `Authorization: Bearer ${token}`];
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      [
        '-sS',
        '--path-as-is',
        '--cacert',
        certFile,
        '-D',
        headersFile,
        '-o',
        bodyFile,
        '-w',
        '%{http_code}',
        ...auth,
        ...args,
        `https://127.0.0.1:${port}${path}`,
      ],
      (err, stdout) => {
        if (err) return reject(err);
        resolve({ status: Number(stdout), headers: readFileSync(headersFile, 'utf8'), body: readFileSync(bodyFile, 'utf8') });
      },
    );
  });
}

const eventsOf = (sessionId: string, kind: string): unknown[] =>
  recorded.filter((r) => r.sessionId === sessionId && r.kind === kind).map((r) => r.payload);
const sessionOf = (r: CurlResult): string => /x-agentgate-session-id: (\S+)/i.exec(r.headers)?.[1] ?? '';

test('GET allowed: forwarded with the gateway credential to base path + path + query; the card arrives masked', async () => {
  const seenBefore = upstreamSeen.length;
  const r = await curl('/registry/items?x=1', ['-H', 'Cookie: sid=agent', '-H', 'X-Trace: t1']);
  assert.equal(r.status, 200);
  assert.ok(!r.body.includes(CARD), r.body);
  assert.match(r.body, /\[REDACTED:card\]/);
  assert.doesNotMatch(r.headers, /set-cookie/i);
  assert.doesNotMatch(r.headers, /content-length/i);
  const seen = upstreamSeen.slice(seenBefore);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.url, '/api/items?x=1');
  assert.equal(seen[0]!.headers.authorization, `Bearer ${UPSTREAM_SECRET}`);
  assert.equal(seen[0]!.headers.cookie, undefined);
  assert.equal(seen[0]!.headers['x-trace'], 't1');

  const session = sessionOf(r);
  const request = eventsOf(session, 'RequestObserved')[0] as RequestObserved;
  assert.equal(request.detail.kind, 'http');
  if (request.detail.kind === 'http') {
    assert.equal(request.detail.method, 'GET');
    // the path policy saw is the path the upstream got (under the base path)
    assert.equal(`/api${request.detail.path}?${request.detail.query}`, seen[0]!.url);
  }
  const response = eventsOf(session, 'ResponseObserved')[0] as ResponseObserved;
  assert.equal(response.outcome, 'ok');
  assert.equal(response.httpStatus, 200);
  assert.equal(response.bytes, Buffer.byteLength(r.body));
  assert.equal(response.resultDigest, createHash('sha256').update(r.body).digest('hex'));
  assert.equal(response.bodySample, r.body);
  assert.deepEqual(response.masking, [{ key: 'detector:card', count: 1 }]);
  assert.deepEqual(
    recorded.filter((e) => e.sessionId === session).map((e) => e.kind),
    ['SessionOpened', 'RequestObserved', 'VerdictIssued', 'ResponseObserved', 'SessionClosed'],
  );
  const everything = JSON.stringify(recorded);
  for (const secret of [AGENT_TOKEN, UPSTREAM_SECRET, 'sid=agent']) assert.ok(!everything.includes(secret), secret);
});

test('a request body is forwarded as sent and recorded redacted, with its digest', async () => {
  const seenBefore = upstreamSeen.length;
  const body = JSON.stringify({ note: `pay with ${CARD}` });
  const r = await curl(`/registry/plain?card=${CARD}`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', body]);
  assert.equal(r.status, 200);
  assert.equal(upstreamSeen.slice(seenBefore)[0]!.body, body);
  assert.equal(upstreamSeen.slice(seenBefore)[0]!.url, `/api/plain?card=${CARD}`);
  // no plan on this verdict: the agent gets the upstream's answer unchanged
  assert.match(r.body, new RegExp(CARD));
  const request = eventsOf(sessionOf(r), 'RequestObserved')[0] as RequestObserved;
  assert.ok(request.detail.kind === 'http');
  assert.equal(request.detail.body, JSON.stringify({ note: 'pay with [REDACTED:card]' }));
  assert.equal(request.detail.query, 'card=[REDACTED:card]');
  assert.equal(request.detail.bodyBytes, Buffer.byteLength(body));
  assert.equal(request.detail.bodyDigest, createHash('sha256').update(body).digest('hex'));
  assert.equal(request.detail.contentType, 'application/json');
  // the sample is kept at rest redacted even when the agent got the value
  const response = eventsOf(sessionOf(r), 'ResponseObserved')[0] as ResponseObserved;
  assert.ok(!response.bodySample?.includes(CARD));
});

test('DELETE denied: 403 problem naming the rule and request; the upstream never sees it', async () => {
  const seenBefore = upstreamSeen.length;
  const r = await curl('/registry/items/1', ['-X', 'DELETE']);
  assert.equal(r.status, 403);
  assert.match(r.headers, /content-type: application\/problem\+json/i);
  const problem = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(problem['code'], 'AG_ERR_POLICY_DENIED');
  assert.equal(problem['rule'], 'no-deletes');
  assert.equal(typeof problem['requestId'], 'string');
  assert.equal(upstreamSeen.length, seenBefore);
  const response = eventsOf(sessionOf(r), 'ResponseObserved')[0] as ResponseObserved;
  assert.equal(response.outcome, 'denied');
  assert.equal(response.httpStatus, 403);
});

test('pending approval: 403 AG_ERR_APPROVAL_PENDING naming the approval; nothing forwarded', async () => {
  const seenBefore = upstreamSeen.length;
  const r = await curl('/registry/approval');
  assert.equal(r.status, 403);
  const problem = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(problem['code'], 'AG_ERR_APPROVAL_PENDING');
  assert.equal(problem['approvalId'], 'ap-1');
  assert.equal(upstreamSeen.length, seenBefore);
});

test('503 AG_ERR_AUDIT_UNAVAILABLE when the request cannot be decided; nothing forwarded', async () => {
  const seenBefore = upstreamSeen.length;
  const r = await curl('/registry/audit-down', ['-X', 'POST', '--data-binary', 'x=1']);
  assert.equal(r.status, 503);
  assert.equal((JSON.parse(r.body) as Record<string, unknown>)['code'], 'AG_ERR_AUDIT_UNAVAILABLE');
  assert.equal(upstreamSeen.length, seenBefore);
});

test('SSE passes event by event: the first event arrives (masked) before the upstream sends the second', async () => {
  const res = await undiciAgent.request({
    origin: `https://127.0.0.1:${port}`,
    path: '/registry/events',
    method: 'GET',
    headers: { authorization: `Bearer ${AGENT_TOKEN}` },
  });
  assert.equal(res.statusCode, 200);
  const reader = res.body[Symbol.asyncIterator]();
  const first = await reader.next();
  assert.equal(Buffer.from(first.value as Buffer).toString(), 'data: first [REDACTED:card]\n\n');
  releaseSecondEvent();
  let rest = '';
  for (let next = await reader.next(); !next.done; next = await reader.next()) rest += Buffer.from(next.value as Buffer).toString();
  assert.equal(rest, 'data: second\n\n');
});

test('refusals at the edge: 401 with WWW-Authenticate, 400 traversal, 404, 403 forbidden, 405 TRACE, 413; nothing forwarded', async () => {
  const seenBefore = upstreamSeen.length;
  const cases: [string, string[], string | null, number, string][] = [
    ['/registry/items', [], null, 401, 'AG_ERR_UNAUTHENTICATED'],
    ['/registry/items', [], 'forged', 401, 'AG_ERR_TOKEN_SIGNATURE_INVALID'],
    ['/registry/a/../admin', [], AGENT_TOKEN, 400, 'AG_ERR_BAD_REQUEST'],
    ['/registry/a%2fb', [], AGENT_TOKEN, 400, 'AG_ERR_BAD_REQUEST'],
    ['/registry/%2e%2e/x', [], AGENT_TOKEN, 400, 'AG_ERR_BAD_REQUEST'],
    ['/nope/items', [], AGENT_TOKEN, 404, 'AG_ERR_CONNECTION_UNKNOWN'],
    ['/admin-only/items', [], AGENT_TOKEN, 403, 'AG_ERR_CONNECTION_FORBIDDEN'],
    ['/registry/items', ['-X', 'TRACE'], AGENT_TOKEN, 405, 'AG_ERR_BAD_REQUEST'],
    ['/registry/items', ['-X', 'POST', '--data-binary', 'x'.repeat(5000)], AGENT_TOKEN, 413, 'AG_ERR_MESSAGE_TOO_LARGE'],
  ];
  for (const [path, args, token, status, code] of cases) {
    const r = await curl(path, args, token);
    assert.equal(r.status, status, `${path} ${args.join(' ')}`);
    assert.equal((JSON.parse(r.body) as Record<string, unknown>)['code'], code, path);
    if (status === 401) assert.match(r.headers, /www-authenticate: Bearer/i);
  }
  assert.equal(upstreamSeen.length, seenBefore);
});

test('502 AG_ERR_UPSTREAM_UNAVAILABLE when the upstream cannot be reached; recorded as failed', async () => {
  const r = await curl('/closed/x');
  assert.equal(r.status, 502);
  assert.equal((JSON.parse(r.body) as Record<string, unknown>)['code'], 'AG_ERR_UPSTREAM_UNAVAILABLE');
  const response = eventsOf(sessionOf(r), 'ResponseObserved')[0] as ResponseObserved;
  assert.equal(response.outcome, 'failed');
  assert.equal(response.errorCode, 'AG_ERR_UPSTREAM_UNAVAILABLE');
});
