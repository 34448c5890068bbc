// The gateway's login to the real local target: TLS modes as the catalog means them, the
// authentication allow-list against a server that asks for SCRAM, and pg_hba's hostssl-only
// rule for the gateway's roles (deploy/local/stack.sh, deploy/local/postgres/roles.sql).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { decodeParameterStatus } from '@agentgate/pg-wire';
import type { UpstreamAuthMethod } from './connections.js';
import { openUpstream, type UpstreamTls } from './upstream.js';

const env = process.env;
const stackDir = env['AG_STACK_DIR'] ?? join(process.cwd(), '.stack');
const secretsDir = env['AG_SECRETS_DIR'] ?? join(stackDir, 'secrets');
const caFile = env['AG_TLS_CA_FILE'] ?? join(stackDir, 'tls/ca.crt');
const host = env['AG_TARGET_PG_HOST'] ?? '127.0.0.1';
const port = Number(env['AG_TARGET_PG_PORT'] ?? 25432);
const password = (): string => readFileSync(join(secretsDir, 'target-demo-ro-password'), 'utf8').trim();

// A CA that did not issue the target's certificate: the first of Node's public roots.
const strangerCa = join(mkdtempSync(join(tmpdir(), 'ag-upstream-')), 'other-ca.pem');
writeFileSync(strangerCa, rootCertificates[0] ?? '');

async function login(
  tls: UpstreamTls,
  options: { auth?: UpstreamAuthMethod[]; password?: string } = {},
): Promise<{ user?: string; code?: string; message?: string }> {
  try {
    const session = await openUpstream({
      tls,
      host,
      port,
      database: 'demo',
      username: 'agentgate_demo_ro',
      password: options.password ?? password(),
      auth: options.auth ?? ['scram-sha-256'],
      parameters: [{ name: 'application_name', value: 'upstream-int-test' }],
      connectTimeoutMs: 5000,
      maxMessageBytes: 1024 * 1024,
    });
    session.close();
    const statuses = Object.fromEntries(session.parameterFrames.map((f) => Object.values(decodeParameterStatus(f))));
    return { user: statuses['session_authorization'] };
  } catch (e) {
    const error = e as { code?: string; message?: string };
    return { code: error.code, message: error.message };
  }
}

test('verify-full checks the chain and the name; verify-ca only the chain', async () => {
  assert.deepEqual(await login({ mode: 'verify-full', caFile, serverName: 'localhost' }), { user: 'agentgate_demo_ro' });
  const wrongName = await login({ mode: 'verify-full', caFile, serverName: 'not-the-target.example' });
  assert.equal(wrongName.code, 'AG_ERR_UPSTREAM_UNAVAILABLE', wrongName.message);
  assert.match(wrongName.message ?? '', /TLS/);
  assert.deepEqual(await login({ mode: 'verify-ca', caFile, serverName: 'not-the-target.example' }), { user: 'agentgate_demo_ro' });
  // Without a caFile, verify-full trusts the system's store, which does not know the local CA.
  assert.equal((await login({ mode: 'verify-full', serverName: 'localhost' })).code, 'AG_ERR_UPSTREAM_UNAVAILABLE');
  assert.equal((await login({ mode: 'verify-ca', caFile: strangerCa })).code, 'AG_ERR_UPSTREAM_UNAVAILABLE');
});

test('require encrypts; with a caFile it still verifies the chain', async () => {
  assert.deepEqual(await login({ mode: 'require' }), { user: 'agentgate_demo_ro' });
  assert.deepEqual(await login({ mode: 'require', caFile }), { user: 'agentgate_demo_ro' });
  const stranger = await login({ mode: 'require', caFile: strangerCa });
  assert.equal(stranger.code, 'AG_ERR_UPSTREAM_UNAVAILABLE', stranger.message);
});

test("the gateway's roles may not log in without TLS (pg_hba rejects them)", async () => {
  const plain = await login({ mode: 'disable' });
  assert.equal(plain.code, 'AG_ERR_UPSTREAM_AUTH_FAILED');
  // The agent-facing message names neither the role nor the target's words.
  assert.doesNotMatch(plain.message ?? '', /agentgate_demo_ro|pg_hba|no encryption/);
});

test('a server asking for SCRAM is refused when the connection allows only md5; a wrong password fails the login', async () => {
  const md5Only = await login({ mode: 'verify-full', caFile, serverName: 'localhost' }, { auth: ['md5'] });
  assert.equal(md5Only.code, 'AG_ERR_UPSTREAM_AUTH_FAILED');
  const wrong = await login({ mode: 'verify-full', caFile, serverName: 'localhost' }, { password: 'not-the-password' });
  assert.equal(wrong.code, 'AG_ERR_UPSTREAM_AUTH_FAILED');
  assert.doesNotMatch(wrong.message ?? '', /agentgate_demo_ro|password authentication failed/);
});
