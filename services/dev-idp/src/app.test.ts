// Runs the real IdP on a loopback port 0 with its state in a temp dir, and checks the
// tokens the way the gateway will: jose, the discovery document's jwks_uri, strict options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { createLogger } from '@agentgate/observability';
import { loadConfig } from './config.js';
import { createDevIdp, type DevIdp } from './app.js';

const TTL = 900;
const logger = createLogger({ service: 'dev-idp-test', level: 'silent' });
const tokenScript = fileURLToPath(new URL('../../../scripts/token.mjs', import.meta.url));
const dirs: string[] = [];
const running = new Set<DevIdp>();

interface Instance {
  idp: DevIdp;
  dir: string;
  clientsFile: string;
}

async function newDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dev-idp-test-'));
  dirs.push(dir);
  return dir;
}

async function startIdp(dir?: string): Promise<Instance> {
  const d = dir ?? (await newDir());
  const clientsFile = join(d, 'secrets', 'dev-idp-clients.json');
  const config = loadConfig({
    AG_DEV_IDP_PORT: '0',
    AG_DEV_IDP_ISSUER: 'http://127.0.0.1:0',
    AG_DEV_IDP_STATE_DIR: join(d, 'state'),
    AG_DEV_IDP_CLIENTS_FILE: clientsFile,
    AG_DEV_IDP_TOKEN_TTL_SEC: String(TTL),
  });
  const idp = createDevIdp({ config, logger });
  await idp.start();
  running.add(idp);
  return { idp, dir: d, clientsFile };
}

async function stopIdp(idp: DevIdp): Promise<void> {
  running.delete(idp);
  await idp.stop();
}

async function secretOf(inst: Instance, name: string): Promise<string> {
  const secrets = JSON.parse(await readFile(inst.clientsFile, 'utf8')) as Record<string, string>;
  const secret = secrets[name];
  assert.ok(secret, `no secret for ${name}`);
  return secret;
}

interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

async function requestToken(
  idp: DevIdp,
  clientId: string,
  secret: string,
  extra: Record<string, string> = {},
  auth: 'basic' | 'post' = 'basic',
): Promise<TokenAnswer> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...extra });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
  else {
    form.set('client_id', clientId);
    form.set('client_secret', secret);
  }
  const res = await fetch(`${idp.issuer}/token`, { method: 'POST', headers, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function accessToken(idp: DevIdp, clientId: string, secret: string, extra: Record<string, string> = {}): Promise<string> {
  const { status, body } = await requestToken(idp, clientId, secret, extra);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(typeof body.access_token, 'string');
  return body.access_token as string;
}

/** Verifies like the gateway will: keys from jwks_uri, fixed issuer, audience, alg and typ. */
async function verify(idp: DevIdp, token: string): Promise<JWTPayload> {
  const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  // A fresh key set per call: jose's remote set caches keys and waits 30 s before refetching.
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: idp.issuer,
    audience: 'agentgate',
    algorithms: ['ES256'],
    typ: 'at+jwt',
  });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(typeof protectedHeader.kid, 'string');
  return payload;
}

async function publishedKids(idp: DevIdp): Promise<string[]> {
  const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
  assert.ok(
    jwks.keys.every((k) => k.d === undefined),
    'the public JWKS must not carry private members',
  );
  return jwks.keys.map((k) => k.kid);
}

let shared: Instance;

before(async () => {
  shared = await startIdp();
});

after(async () => {
  for (const idp of running) await idp.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('discovery names the issuer, the token endpoint and the JWKS', async () => {
  const res = await fetch(`${shared.idp.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const d = (await res.json()) as Record<string, unknown>;
  assert.equal(d.issuer, shared.idp.issuer);
  assert.equal(d.token_endpoint, `${shared.idp.issuer}/token`);
  assert.equal(d.jwks_uri, `${shared.idp.issuer}/jwks`);
  assert.ok((d.grant_types_supported as string[]).includes('client_credentials'));
  assert.deepEqual(d.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
  assert.deepEqual(shared.idp.readiness(), { listening: true });
});

test('a client_credentials token is an ES256 at+jwt for the gateway, with the identity and its groups', async () => {
  const { status, body } = await requestToken(shared.idp, 'demo-agent', await secretOf(shared, 'demo-agent'));
  assert.equal(status, 200);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, TTL);
  const claims = await verify(shared.idp, body.access_token as string);
  assert.equal(claims.iss, shared.idp.issuer);
  assert.equal(claims.aud, 'agentgate');
  assert.equal(claims.sub, 'demo-agent');
  assert.equal(claims.client_id, 'demo-agent');
  assert.deepEqual(claims.groups, ['agents']);
  assert.equal(claims.scope, 'agentgate:connect');
  assert.equal(typeof claims.jti, 'string');
  assert.ok((claims.jti as string).length >= 20);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), TTL);
  assert.equal(claims.act, undefined);
});

test('every demo identity gets its own groups; client_secret_post works too', async () => {
  const expected: Record<string, string[]> = {
    'demo-agent': ['agents'],
    'report-agent': ['readonly-agents'],
    'dba-agent': ['dba-agents'],
    alice: ['approvers'],
    carol: ['approvers'],
    bob: ['auditors'],
    erin: ['gateway-admins'],
  };
  for (const [name, groups] of Object.entries(expected)) {
    const { status, body } = await requestToken(shared.idp, name, await secretOf(shared, name), {}, 'post');
    assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
    const claims = await verify(shared.idp, body.access_token as string);
    assert.equal(claims.sub, name);
    assert.deepEqual(claims.groups, groups);
  }
});

test("on_behalf_of makes the human the subject and the agent the actor; groups stay the agent's", async () => {
  const secret = await secretOf(shared, 'demo-agent');
  const direct = await verify(shared.idp, await accessToken(shared.idp, 'demo-agent', secret, { on_behalf_of: 'dave' }));
  assert.equal(direct.sub, 'dave');
  assert.deepEqual(direct.act, { sub: 'demo-agent' });
  assert.equal(direct.client_id, 'demo-agent');
  assert.deepEqual(direct.groups, ['agents']);

  const chained = await verify(shared.idp, await accessToken(shared.idp, 'demo-agent', secret, { on_behalf_of: 'dave', via: 'planner' }));
  assert.equal(chained.sub, 'dave');
  assert.deepEqual(chained.act, { sub: 'demo-agent', act: { sub: 'planner' } });
  assert.deepEqual(chained.groups, ['agents']);
});

test('ttl shortens the token; bad extras are invalid_request', async () => {
  const secret = await secretOf(shared, 'report-agent');
  const { status, body } = await requestToken(shared.idp, 'report-agent', secret, { ttl: '60' });
  assert.equal(status, 200);
  assert.equal(body.expires_in, 60);
  const claims = await verify(shared.idp, body.access_token as string);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 60);

  const bad: Record<string, string>[] = [{ ttl: '0' }, { ttl: '86401' }, { via: 'planner' }, { on_behalf_of: 'not a name' }];
  for (const extra of bad) {
    const refused = await requestToken(shared.idp, 'report-agent', secret, extra);
    assert.equal(refused.status, 400, JSON.stringify(extra));
    assert.equal(refused.body.error, 'invalid_request');
  }
});

test('a wrong secret or an unknown client is 401 invalid_client', async () => {
  const wrong = await requestToken(shared.idp, 'demo-agent', 'not-the-secret-at-all');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  const unknown = await requestToken(shared.idp, 'mallory', 'whatever-secret-value');
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error, 'invalid_client');
  assert.match(shared.idp.metrics(), /agentgate_dev_idp_token_errors_total\{error="invalid_client"\} [1-9]/);
});

test('only the gateway resource is known', async () => {
  const other = await requestToken(shared.idp, 'demo-agent', await secretOf(shared, 'demo-agent'), { resource: 'urn:other' });
  assert.equal(other.status, 400);
  assert.equal(other.body.error, 'invalid_target');
});

test('rotate signs with a new key at once and keeps the old one published until it is deleted', async () => {
  const inst = await startIdp();
  const { idp } = inst;
  const secret = await secretOf(inst, 'demo-agent');
  const oldToken = await accessToken(idp, 'demo-agent', secret);
  const oldKid = decodeProtectedHeader(oldToken).kid;
  assert.ok(oldKid);
  const listed = (await (await fetch(`${idp.issuer}/dev/keys`)).json()) as { signing: string; keys: string[] };
  assert.deepEqual(listed, { signing: oldKid, keys: [oldKid] });

  const rotated = await fetch(`${idp.issuer}/dev/keys/rotate`, { method: 'POST' });
  assert.equal(rotated.status, 201);
  const { kid: newKid } = (await rotated.json()) as { kid: string };
  assert.notEqual(newKid, oldKid);
  assert.deepEqual(await publishedKids(idp), [newKid, oldKid]);

  const newToken = await accessToken(idp, 'demo-agent', secret);
  assert.equal(decodeProtectedHeader(newToken).kid, newKid);
  await verify(idp, newToken);
  await verify(idp, oldToken); // still published

  const deleted = await fetch(`${idp.issuer}/dev/keys/${encodeURIComponent(oldKid)}`, { method: 'DELETE' });
  assert.equal(deleted.status, 200);
  assert.deepEqual(await publishedKids(idp), [newKid]);
  await assert.rejects(verify(idp, oldToken), (e: { code?: string }) => e.code === 'ERR_JWKS_NO_MATCHING_KEY');

  assert.equal((await fetch(`${idp.issuer}/dev/keys/${encodeURIComponent(oldKid)}`, { method: 'DELETE' })).status, 404);
  assert.equal((await fetch(`${idp.issuer}/dev/keys/${encodeURIComponent(newKid)}`, { method: 'DELETE' })).status, 409);
  assert.equal((await fetch(`${idp.issuer}/dev/keys/rotate`, { method: 'POST', headers: { origin: 'http://example.com' } })).status, 403);

  const stored = JSON.parse(await readFile(join(inst.dir, 'state', 'jwks.json'), 'utf8')) as { keys: { kid: string }[] };
  assert.deepEqual(
    stored.keys.map((k) => k.kid),
    [newKid],
  );
  await stopIdp(idp);
});

test('a restart on the same state keeps keys and secrets; both files are mode 600', async () => {
  const first = await startIdp();
  const secrets = await readFile(first.clientsFile, 'utf8');
  const kids = await publishedKids(first.idp);
  const before = await accessToken(first.idp, 'bob', await secretOf(first, 'bob'));
  await stopIdp(first.idp);
  assert.deepEqual(first.idp.readiness(), { listening: false });

  const second = await startIdp(first.dir);
  assert.equal(await readFile(second.clientsFile, 'utf8'), secrets);
  assert.deepEqual(await publishedKids(second.idp), kids);
  // The port changed, so the issuer did too; the signature must still verify with the same key.
  const after = await accessToken(second.idp, 'bob', await secretOf(second, 'bob'));
  assert.equal(decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid);
  await verify(second.idp, after);

  for (const file of [second.clientsFile, join(second.dir, 'state', 'jwks.json')]) {
    assert.equal((await stat(file)).mode & 0o777, 0o600, file);
  }
  await stopIdp(second.idp);
});

// scripts/token.mjs runs `agentgate token` (services/cli): this drives the CLI against a real IdP.
test('scripts/token.mjs prints exactly one token line, and never the secret on errors', async () => {
  const run = promisify(execFile);
  const env = { ...process.env, AG_DEV_IDP_CLIENTS_FILE: shared.clientsFile, AG_DEV_IDP_ISSUER: shared.idp.issuer };
  const { stdout } = await run(
    process.execPath,
    [tokenScript, 'dba-agent', '--on-behalf-of', 'alice', '--via', 'planner', '--ttl', '120'],
    { env },
  );
  assert.match(stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const claims = await verify(shared.idp, stdout.trim());
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.act, { sub: 'dba-agent', act: { sub: 'planner' } });
  assert.deepEqual(claims.groups, ['dba-agents']);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 120);

  const secret = await secretOf(shared, 'dba-agent');
  for (const args of [['nobody'], ['dba-agent', '--ttl', '0']]) {
    const failed = await run(process.execPath, [tokenScript, ...args], { env }).then(
      () => assert.fail(`token.mjs ${args.join(' ')} should fail`),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    // Both are mistakes on the command line: the CLI's usage exit code.
    assert.equal(failed.code, 2);
    assert.equal(failed.stdout, '');
    assert.ok(!failed.stderr.includes(secret));
    if (args[0] === 'nobody') assert.match(failed.stderr, /known: alice, bob, carol, dba-agent, demo-agent, erin, report-agent/);
  }
});
