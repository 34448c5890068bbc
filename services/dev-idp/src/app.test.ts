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
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
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

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

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

/** An RFC 8693 token exchange by `clientId`, presenting `subjectToken`. */
function exchange(inst: Instance, clientId: string, secret: string, subjectToken: string, extra: Record<string, string> = {}) {
  return requestToken(inst.idp, clientId, secret, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    ...extra,
  });
}

/** `name`'s own token, exchanged by each actor in turn: the chain the CLI builds. */
async function delegated(inst: Instance, principal: string, ...actors: string[]): Promise<string> {
  let current = await accessToken(inst.idp, principal, await secretOf(inst, principal));
  for (const actor of actors) {
    const { status, body } = await exchange(inst, actor, await secretOf(inst, actor), current);
    assert.equal(status, 200, `${actor}: ${JSON.stringify(body)}`);
    current = body.access_token as string;
  }
  return current;
}

/** Signs arbitrary claims with the IdP's own signing key (read from its state): tokens it could have issued. */
async function mintWithIdpKey(inst: Instance, claims: JWTPayload): Promise<string> {
  const stored = JSON.parse(await readFile(join(inst.dir, 'state', 'jwks.json'), 'utf8')) as { keys: (JWK & { kid: string })[] };
  const jwk = stored.keys[0];
  assert.ok(jwk);
  const nowSec = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: inst.idp.issuer, aud: 'agentgate', iat: nowSec, exp: nowSec + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'at+jwt' })
    .sign(await importJWK(jwk, 'ES256'));
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
  assert.ok((d.grant_types_supported as string[]).includes(TOKEN_EXCHANGE));
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
    planner: ['agents'],
    alice: ['approvers'],
    carol: ['approvers'],
    bob: ['auditors'],
    dave: [],
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

test('client_credentials can no longer name a principal: on_behalf_of and via are invalid_request', async () => {
  const secret = await secretOf(shared, 'demo-agent');
  const retired: Record<string, string>[] = [{ on_behalf_of: 'dba-agent' }, { on_behalf_of: 'dave', via: 'planner' }, { via: 'planner' }];
  for (const extra of retired) {
    const refused = await requestToken(shared.idp, 'demo-agent', secret, extra);
    assert.equal(refused.status, 400, JSON.stringify(extra));
    assert.equal(refused.body.error, 'invalid_request', JSON.stringify(extra));
    assert.equal(refused.body.access_token, undefined);
  }
});

test("a token exchange makes the subject token's sub the subject and the client the actor; groups are the actor's", async () => {
  const daveToken = await accessToken(shared.idp, 'dave', await secretOf(shared, 'dave'), { ttl: '600' });
  const dave = decodeJwt(daveToken);
  const { status, body } = await exchange(shared, 'demo-agent', await secretOf(shared, 'demo-agent'), daveToken);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.issued_token_type, ACCESS_TOKEN_TYPE);
  assert.equal(body.token_type, 'Bearer');
  const claims = await verify(shared.idp, body.access_token as string);
  assert.equal(claims.sub, 'dave');
  assert.deepEqual(claims.act, { sub: 'demo-agent' });
  assert.equal(claims.client_id, 'demo-agent');
  assert.equal(claims.aud, 'agentgate');
  assert.deepEqual(claims.groups, ['agents']);
  assert.equal(claims.may_act, undefined);
  // Not later than the subject token, although the IdP's default lifetime (900 s) is longer.
  assert.ok((claims.exp ?? 0) <= (dave.exp ?? 0), `${claims.exp} > ${dave.exp}`);
  assert.ok((claims.exp ?? 0) >= (dave.exp ?? 0) - 2);
  assert.ok(typeof body.expires_in === 'number' && body.expires_in <= 600);
  // The jwt token type is accepted too, and ttl still shortens.
  const short = await exchange(shared, 'demo-agent', await secretOf(shared, 'demo-agent'), daveToken, {
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    ttl: '60',
  });
  assert.equal(short.status, 200, JSON.stringify(short.body));
  assert.equal(short.body.expires_in, 60);
});

test('a chain forms hop by hop: alice -> planner -> dba-agent', async () => {
  const claims = await verify(shared.idp, await delegated(shared, 'alice', 'planner', 'dba-agent'));
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.act, { sub: 'dba-agent', act: { sub: 'planner' } });
  assert.equal(claims.client_id, 'dba-agent');
  assert.deepEqual(claims.groups, ['dba-agents']);
});

test('an exchange without a proper subject token is invalid_request', async () => {
  const secret = await secretOf(shared, 'demo-agent');
  const own = await accessToken(shared.idp, 'dave', await secretOf(shared, 'dave'));
  const cases: Record<string, string>[] = [
    { grant_type: TOKEN_EXCHANGE },
    { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE },
    { grant_type: TOKEN_EXCHANGE, subject_token: own },
    { grant_type: TOKEN_EXCHANGE, subject_token: own, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
    {
      grant_type: TOKEN_EXCHANGE,
      subject_token: own,
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: own,
      actor_token_type: ACCESS_TOKEN_TYPE,
    },
    { grant_type: TOKEN_EXCHANGE, subject_token: own, subject_token_type: ACCESS_TOKEN_TYPE, on_behalf_of: 'dba-agent' },
    {
      grant_type: TOKEN_EXCHANGE,
      subject_token: own,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
    },
  ];
  for (const form of cases) {
    const refused = await requestToken(shared.idp, 'demo-agent', secret, form);
    assert.equal(refused.status, 400, JSON.stringify(Object.keys(form)));
    assert.equal(refused.body.error, 'invalid_request', JSON.stringify(Object.keys(form)));
  }
  const otherAudience = await exchange(shared, 'demo-agent', secret, own, { audience: 'somewhere-else' });
  assert.equal(otherAudience.body.error, 'invalid_target');
  // Without client authentication there is no actor: refused before the grant is looked at.
  const anonymous = await fetch(`${shared.idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: own, subject_token_type: ACCESS_TOKEN_TYPE }),
  });
  assert.equal(anonymous.status, 400);
  assert.deepEqual(await anonymous.json(), {
    error: 'invalid_request',
    error_description: 'no client authentication mechanism provided',
  });
});

test("a subject token that is not this IdP's own, valid, untampered access token is invalid_grant", async () => {
  const secret = await secretOf(shared, 'demo-agent');
  const genuine = await accessToken(shared.idp, 'dba-agent', await secretOf(shared, 'dba-agent'));
  const [header, payload, signature] = genuine.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as JWTPayload;

  // Another IdP (its own keys and issuer): a token it issued proves nothing here.
  const other = await startIdp();
  const foreign = await accessToken(other.idp, 'dba-agent', await secretOf(other, 'dba-agent'));
  await stopIdp(other.idp);

  // A key of the attacker's, published under the IdP's own kid.
  const { privateKey } = await generateKeyPair('ES256');
  const forgedSignature = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: decodeProtectedHeader(genuine).kid ?? '', typ: 'at+jwt' })
    .sign(privateKey);

  const nowSec = Math.floor(Date.now() / 1000);
  const forged: Record<string, string> = {
    'signed by another IdP': foreign,
    'payload changed, signature kept': `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'alice' })).toString('base64url')}.${signature}`,
    'signature of another key': forgedSignature,
    'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`,
    expired: await mintWithIdpKey(shared, { sub: 'dba-agent', client_id: 'dba-agent', iat: nowSec - 600, exp: nowSec - 60 }),
    'another issuer, our key': await mintWithIdpKey(shared, { sub: 'dba-agent', iss: 'http://127.0.0.1:1' }),
    'another audience': await mintWithIdpKey(shared, { sub: 'dba-agent', aud: 'some-other-api' }),
    'no sub': await mintWithIdpKey(shared, { client_id: 'dba-agent' }),
    'not a JWT': 'dba-agent',
  };
  for (const [what, subjectToken] of Object.entries(forged)) {
    const refused = await exchange(shared, 'demo-agent', secret, subjectToken);
    assert.equal(refused.status, 400, what);
    assert.equal(refused.body.error, 'invalid_grant', `${what}: ${JSON.stringify(refused.body)}`);
    assert.equal(refused.body.access_token, undefined, what);
  }
  // The genuine one is accepted: the refusals above are about the token, not the request.
  assert.equal((await exchange(shared, 'demo-agent', secret, genuine)).status, 200);
});

test('may_act in the subject token limits who may act for the subject (RFC 8693 4.4)', async () => {
  const mayActPlanner = await mintWithIdpKey(shared, { sub: 'alice', client_id: 'alice', may_act: { sub: 'planner' } });
  const refused = await exchange(shared, 'demo-agent', await secretOf(shared, 'demo-agent'), mayActPlanner);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, 'invalid_grant');

  const allowed = await exchange(shared, 'planner', await secretOf(shared, 'planner'), mayActPlanner);
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  const claims = await verify(shared.idp, allowed.body.access_token as string);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.act, { sub: 'planner' });

  const otherIssuer = await mintWithIdpKey(shared, { sub: 'alice', may_act: { sub: 'planner', iss: 'https://idp.example' } });
  assert.equal((await exchange(shared, 'planner', await secretOf(shared, 'planner'), otherIssuer)).body.error, 'invalid_grant');
  const malformed = await mintWithIdpKey(shared, { sub: 'alice', may_act: 'planner' });
  assert.equal((await exchange(shared, 'planner', await secretOf(shared, 'planner'), malformed)).body.error, 'invalid_grant');
});

test('ttl shortens the token; bad extras are invalid_request', async () => {
  const secret = await secretOf(shared, 'report-agent');
  const { status, body } = await requestToken(shared.idp, 'report-agent', secret, { ttl: '60' });
  assert.equal(status, 200);
  assert.equal(body.expires_in, 60);
  const claims = await verify(shared.idp, body.access_token as string);
  assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 60);

  const bad: Record<string, string>[] = [{ ttl: '0' }, { ttl: '86401' }, { ttl: 'soon' }];
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
  // A real exchange chain: alice's own token, exchanged by planner, then by dba-agent.
  const claims = await verify(shared.idp, stdout.trim());
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.act, { sub: 'dba-agent', act: { sub: 'planner' } });
  assert.deepEqual(claims.groups, ['dba-agents']);
  assert.ok((claims.exp ?? 0) - (claims.iat ?? 0) <= 120);
  assert.ok((claims.exp ?? 0) - (claims.iat ?? 0) >= 118);

  const secret = await secretOf(shared, 'dba-agent');
  for (const args of [['nobody'], ['dba-agent', '--ttl', '0'], ['dba-agent', '--on-behalf-of', 'nobody']]) {
    const failed = await run(process.execPath, [tokenScript, ...args], { env }).then(
      () => assert.fail(`token.mjs ${args.join(' ')} should fail`),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    // Both are mistakes on the command line: the CLI's usage exit code.
    assert.equal(failed.code, 2);
    assert.equal(failed.stdout, '');
    assert.ok(!failed.stderr.includes(secret));
    if (args.includes('nobody'))
      assert.match(failed.stderr, /known: alice, bob, carol, dave, dba-agent, demo-agent, erin, planner, report-agent/);
  }
});
