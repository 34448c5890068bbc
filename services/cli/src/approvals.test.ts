// `agentgate approvals` end to end in process, against a stand-in approval service (node:http
// on port 0) that checks the bearer token and records every request: the real fetch, the real
// command line, only the service is a stand-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { run } from './program.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.approver-token.c2ln';
const ID = '8d7c1c1e-0000-4000-8000-000000000001';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  contentType: string | undefined;
  body: string;
}

const seen: Seen[] = [];
let server: Server;
let base: string;

const summary = {
  id: ID,
  status: 'pending',
  requester: 'alice',
  actChain: ['dba-agent'],
  connection: 'demo',
  ruleId: 'agents-delete-needs-approval',
  text: 'DELETE FROM customers WHERE id = 1',
  requestedAt: new Date(Date.now() - 60_000).toISOString(),
  expiresAt: new Date(Date.now() + 14 * 60_000).toISOString(),
  approvals: 0,
  quorum: 1,
};

/** The approval service's full view (services/approval-service/src/view.ts), abridged. */
function view(status: string, decisions: unknown[] = []): Record<string, unknown> {
  return {
    id: ID,
    status,
    requester: {
      subject: 'alice',
      issuer: 'http://127.0.0.1:14000',
      groups: ['approvers'],
      actChain: [{ subject: 'dba-agent', issuer: null, clientId: 'dba-agent' }],
    },
    connection: 'demo',
    protocol: 'postgres',
    text: 'DELETE FROM customers WHERE id = $1',
    parameters: ['1', null],
    ruleId: 'agents-delete-needs-approval',
    reason: 'DELETE needs approval',
    blastRadius: { estimatedRows: 1, planSummary: 'Delete on customers', error: null, estimatedAt: summary.requestedAt },
    requestedAt: summary.requestedAt,
    expiresAt: summary.expiresAt,
    approverGroups: ['approvers'],
    quorum: 1,
    decisions,
    resolution: null,
    grant: null,
  };
}

function problem(res: import('node:http').ServerResponse, status: number, code: string, detail: string): void {
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title: code, status, detail, code }));
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

before(async () => {
  server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
      });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return problem(res, 401, 'AG_ERR_UNAUTHENTICATED', 'no valid bearer token');
      const json = (value: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/v1/approvals') {
        return json(url.searchParams.get('status') === 'all' ? [summary, { ...summary, id: 'old-1', status: 'denied' }] : [summary]);
      }
      if (req.method === 'GET' && url.pathname === `/v1/approvals/${ID}`) return json(view('pending'));
      if (req.method === 'GET' && url.pathname === '/empty/v1/approvals') return json([]);
      if (req.method === 'POST' && url.pathname === `/v1/approvals/${ID}/approve`) {
        return json(
          view('approved', [
            { approver: 'carol', decision: 'approve', ...(JSON.parse(body) as object), decidedAt: new Date().toISOString() },
          ]),
        );
      }
      if (req.method === 'POST' && url.pathname === `/v1/approvals/${ID}/deny`)
        return problem(res, 409, 'AG_ERR_APPROVAL_CLOSED', 'already approved');
      if (req.method === 'POST' && url.pathname === '/v1/approvals/mine/approve') {
        return problem(res, 403, 'AG_ERR_APPROVAL_SELF', 'you may not approve a request made for you');
      }
      if (req.method === 'POST' && url.pathname === '/v1/approvals/fresh/deny') return json(view('denied'));
      return problem(res, 404, 'AG_ERR_APPROVAL_NOT_FOUND', `no approval request ${url.pathname.split('/')[3] ?? ''}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => {
  server.close();
});

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: {
      out: (s) => {
        stdout += s;
      },
      err: (s) => {
        stderr += s;
      },
    },
    env: { AGENTGATE_TOKEN: TOKEN, AGENTGATE_APPROVALS_URL: base, ...env },
    repoRoot: fileURLToPath(new URL('../../../', import.meta.url)),
    version: '0.0.0',
  });
  return { code, stdout, stderr };
}

test('list: pending by default, --all asks for every status, with the bearer token', async () => {
  const r = await cli(['approvals', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^id +status +requester/);
  assert.match(
    r.stdout,
    new RegExp(
      `^${ID} +pending +dba-agent for alice +demo +agents-delete-needs-approval +0/1 +in 1[34] min +DELETE FROM customers WHERE id = 1$`,
      'm',
    ),
  );
  assert.deepEqual(seen.at(-1), {
    method: 'GET',
    url: '/v1/approvals?status=pending',
    auth: `Bearer ${TOKEN}`,
    contentType: undefined,
    body: '',
  });
  const all = await cli(['approvals', 'list', '--all', '--json']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(seen.at(-1)?.url, '/v1/approvals?status=all');
  const doc = JSON.parse(all.stdout) as { id: string }[];
  assert.deepEqual(
    doc.map((d) => d.id),
    [ID, 'old-1'],
  );
  assert.ok(!(r.stdout + r.stderr + all.stdout + all.stderr).includes(TOKEN), 'the token is never printed');
});

test('show prints every field readably; --json prints the service document unchanged', async () => {
  const r = await cli(['approvals', 'show', ID]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen.at(-1)?.url, `/v1/approvals/${ID}`);
  for (const line of [
    `id +${ID}`,
    'status +pending',
    'reason +DELETE needs approval',
    'approverGroups +approvers',
    'decisions +\\(none\\)',
    'requester',
    '  subject +alice',
    '  actChain',
    '    - subject +dba-agent',
    '      clientId +dba-agent',
    'parameters +1, -',
    'blastRadius',
    '  estimatedRows +1',
    'grant +-',
  ]) {
    assert.match(r.stdout, new RegExp(`^${line}$`, 'm'));
  }
  assert.match(r.stdout, /^text\n {2}DELETE FROM customers WHERE id = \$1$/m);
  const json = await cli(['approvals', 'show', ID, '--json']);
  assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(view('pending'))));
});

test('approve posts the comment and prints the updated view; deny without --comment sends no comment', async () => {
  const r = await cli(['approvals', 'approve', ID, '--comment', 'checked with the owner']);
  assert.equal(r.code, 0, r.stderr);
  const post = seen.at(-1)!;
  assert.equal(post.method, 'POST');
  assert.equal(post.url, `/v1/approvals/${ID}/approve`);
  assert.equal(post.contentType, 'application/json');
  assert.deepEqual(JSON.parse(post.body), { comment: 'checked with the owner' });
  assert.match(r.stdout, new RegExp(`^approved ${ID}; the request is now approved\n`));
  assert.match(r.stdout, /^ {4}comment +checked with the owner$/m);

  const d = await cli(['approvals', 'deny', 'fresh', '--json']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(seen.at(-1)?.url, '/v1/approvals/fresh/deny');
  assert.deepEqual(JSON.parse(seen.at(-1)!.body), {});
  assert.equal((JSON.parse(d.stdout) as { status: string }).status, 'denied');
});

test('a problem+json answer is printed as "<code>: <detail>" on stderr; refusals exit 1, unknown ids 2', async () => {
  const closed = await cli(['approvals', 'deny', ID, '--comment', 'too late']);
  assert.equal(closed.code, 1);
  assert.equal(closed.stdout, '');
  assert.equal(closed.stderr, 'agentgate approvals deny: AG_ERR_APPROVAL_CLOSED: already approved\n');
  const self = await cli(['approvals', 'approve', 'mine', '--json']);
  assert.equal(self.code, 1);
  assert.equal(self.stdout, '', '--json prints no document for an error');
  assert.match(self.stderr, /^agentgate approvals approve: AG_ERR_APPROVAL_SELF: you may not approve a request made for you\n$/);
  const unknown = await cli(['approvals', 'show', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /^agentgate approvals show: AG_ERR_APPROVAL_NOT_FOUND: no approval request nope\n {2}`npx agentgate approvals list --all`/,
  );
  const refused = await cli(['approvals', 'list'], { AGENTGATE_TOKEN: 'someone-elses' });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /AG_ERR_UNAUTHENTICATED: no valid bearer token\n {2}get a fresh token/);
});

test('without a token nothing is sent: AG_ERR_AUTH_REQUIRED, exit 1 and the hint to get one', async () => {
  const before = seen.length;
  for (const argv of [
    ['approvals', 'list'],
    ['approvals', 'approve', ID],
  ]) {
    const r = await cli(argv, { AGENTGATE_TOKEN: '' });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(`^agentgate approvals ${argv[1]}: .*AGENTGATE_TOKEN.* \\(AG_ERR_AUTH_REQUIRED\\)\n {2}get a fresh token`),
    );
  }
  assert.equal(seen.length, before);
});

/** A port nothing listens on: bound once, then released (fetch refuses well-known ports like 1 and 9 outright). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

test('--url wins over AGENTGATE_APPROVALS_URL; an unreachable service is named; bad ids and URLs are usage errors', async () => {
  const nowhere = `http://127.0.0.1:${await closedPort()}`;
  const viaFlag = await cli(['approvals', 'list', '--url', `${base}/`], { AGENTGATE_APPROVALS_URL: nowhere });
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const down = await cli(['approvals', 'list'], { AGENTGATE_APPROVALS_URL: nowhere });
  assert.equal(down.code, 1);
  assert.equal(
    down.stderr.split('\n')[0],
    `agentgate approvals list: the approval service at ${nowhere} is unreachable (ECONNREFUSED) (AG_ERR_UPSTREAM_UNAVAILABLE)`,
  );
  assert.match(down.stderr, /\n {2}`npm run status` shows/);
  assert.doesNotMatch(down.stderr, /\n\s+at /);
  const before = seen.length;
  for (const argv of [
    ['approvals', 'show', 'a/b'],
    ['approvals', 'approve', 'has space'],
    ['approvals', 'list', '--url', 'ftp://x'],
    ['approvals', 'show'],
    ['approvals', 'list', '--bogus'],
    ['approvals'],
  ]) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
  }
  assert.equal(seen.length, before, 'nothing was sent');
});

test('an empty list prints nothing on stdout and says so on stderr; a base URL may have a path', async () => {
  const empty = await cli(['approvals', 'list', '--url', `${base}/empty`]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(seen.at(-1)?.url, '/empty/v1/approvals?status=pending');
  assert.equal(empty.stdout, '');
  assert.match(empty.stderr, /^no pending approval requests \(--all lists decided and expired ones too\)\n$/);
  const json = await cli(['approvals', 'list', '--url', `${base}/empty`, '--json']);
  assert.equal(json.stdout, '[]\n');
});

test('approvals --help lists the subcommands; each has --json and --url', async () => {
  const r = await cli(['approvals', '--help']);
  assert.equal(r.code, 0);
  for (const name of ['list', 'show', 'approve', 'deny']) {
    assert.match(r.stdout, new RegExp(`^ {2}${name} `, 'm'));
    const own = await cli(['approvals', name, '--help']);
    assert.equal(own.code, 0);
    assert.match(own.stdout, new RegExp(`^Usage: agentgate approvals ${name} `));
    assert.match(own.stdout, /--json/);
    assert.match(own.stdout, /--url <url>/);
  }
  assert.match((await cli(['--help'])).stdout, /^ {2}approvals /m);
});
