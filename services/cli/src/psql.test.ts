// `psql` and `token` against a stand-in IdP (a few lines of HTTP on port 0) and a stand-in psql
// (a script that records what it was given): the token must travel in PGPASSWORD only, the
// conninfo must verify TLS, psql's exit code must come back, and `token` must print only the token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './program.js';
import { conninfo } from './psql.js';

const SECRET = 'client-secret-that-must-never-be-printed';
// A JWT-shaped token whose payload names demo-agent; nothing here verifies it.
const TOKEN = `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'demo-agent', iss: 'http://idp', groups: ['agents'], exp: 2_000_000_000, jti: 'j1' })).toString('base64url')}.c2ln`;

let server: Server;
let issuer: string;
let dir: string;
const requests: { auth: string | undefined; body: string }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentgate-cli-test-'));
  await writeFile(join(dir, 'clients.json'), JSON.stringify({ 'demo-agent': SECRET }));
  // Records its arguments and whether PGPASSWORD is the token, then exits 7.
  await writeFile(
    join(dir, 'psql'),
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\n[ "$PGPASSWORD" = "${TOKEN}" ] && echo yes > "${dir}/pgpassword"\nexit 7\n`,
  );
  await chmod(join(dir, 'psql'), 0o755);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(JSON.stringify({ token_endpoint: `${issuer}/token` }));
        return;
      }
      requests.push({ auth: req.headers.authorization, body });
      res.end(JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 600 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { out: (s) => (stdout += s), err: (s) => (stderr += s) },
    env: {
      PATH: `${dir}:${process.env['PATH'] ?? ''}`,
      AG_DEV_IDP_ISSUER: issuer,
      AG_DEV_IDP_CLIENTS_FILE: join(dir, 'clients.json'),
      AG_TLS_CA_FILE: '/ca dir/ca.crt',
      AG_PG_INGRESS_PORT: '15999',
    },
    repoRoot: fileURLToPath(new URL('../../../', import.meta.url)),
    version: '0.0.0',
  });
  return { code, stdout, stderr };
}

test('psql gets the token in PGPASSWORD only, a verify-full conninfo, and its exit code is passed through', async () => {
  const r = await cli(['psql', 'demo', '--as', 'demo-agent', '--', '-c', 'select 1']);
  assert.equal(r.code, 7, r.stderr);
  const argv = (await readFile(join(dir, 'argv'), 'utf8')).trimEnd().split('\n');
  assert.deepEqual(argv, [
    "host=127.0.0.1 port=15999 dbname=demo user=demo-agent sslmode=verify-full sslrootcert='/ca dir/ca.crt'",
    '-c',
    'select 1',
  ]);
  assert.equal((await readFile(join(dir, 'pgpassword'), 'utf8')).trim(), 'yes');
  assert.ok(!argv.join(' ').includes(TOKEN));
  assert.equal(requests.at(-1)?.auth, `Basic ${Buffer.from(`demo-agent:${SECRET}`).toString('base64')}`);
});

test('psql refuses a connection the catalog does not have, before asking for a token', async () => {
  const before = requests.length;
  const r = await cli(['psql', 'nope', '--as', 'demo-agent']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no connection named "nope" .*known: demo, scratch/);
  assert.equal(requests.length, before);
});

test('token prints the token and a newline only; --json one document; errors never show the secret', async () => {
  const plain = await cli(['token', 'demo-agent', '--ttl', '60']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, `${TOKEN}\n`);
  assert.match(requests.at(-1)!.body, /grant_type=client_credentials&ttl=60/);

  const json = await cli(['token', 'demo-agent', '--json']);
  const doc = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(doc['access_token'], TOKEN);
  assert.equal(doc['subject'], 'demo-agent');
  assert.equal(doc['expires_at'], new Date(2_000_000_000_000).toISOString());
  assert.deepEqual(doc['groups'], ['agents']);

  const unknown = await cli(['token', 'nobody']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(unknown.stderr, /unknown identity "nobody"; known: demo-agent/);
  assert.ok(!unknown.stderr.includes(SECRET));
});

test('conninfo quotes values libpq would otherwise split', () => {
  assert.equal(
    conninfo({ ingressHost: 'h', ingressPort: 1, tlsCaFile: "/a b/it's.crt" }, 'db', 'u'),
    "host=h port=1 dbname=db user=u sslmode=verify-full sslrootcert='/a b/it\\'s.crt'",
  );
});
