// Delegation that cannot be borrowed (issue 10), against the running stack: the development
// IdP refuses to name a principal without the principal's own token, and the ingress counts
// each session against its acting agent as well as its subject, so an agent acting for many
// principals is still stopped at its own limit while the agents it named are not.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { quoteString } from '@agentgate/clickhouse';
import { clickhouse, eventually, pgConfig, stack, token, uniqueMarker } from '../support/stack.js';
import { sessionIdFor } from '../support/audit.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
// The ingress's AG_PG_MAX_SESSIONS_PER_IDENTITY (the local stack keeps the default).
const LIMIT = Number(process.env['AG_PG_MAX_SESSIONS_PER_IDENTITY'] ?? 50);
// `planner` acts here: no other test uses it, so its count is this file's alone.
const AGENT = 'planner';

const ch = clickhouse();
after(() => ch.close());

const clientsFile = process.env['AG_DEV_IDP_CLIENTS_FILE'] ?? join(stack.secretsDir, 'dev-idp-clients.json');
function secretOf(name: string): string {
  const secret = (JSON.parse(readFileSync(clientsFile, 'utf8')) as Record<string, string>)[name];
  assert.ok(secret, `no dev IdP secret for ${name}`);
  return secret;
}

/** A token endpoint request authenticated as `clientId` (what any agent can send). */
async function tokenRequest(clientId: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.idpIssuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secretOf(clientId)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface PgError {
  code?: string;
  detail?: string;
  message: string;
}

/** Opens a session with `password` on connection `database`; the client, or the error the gateway answered with. */
async function open(password: string, user: string, applicationName: string, database = 'demo'): Promise<pg.Client | PgError> {
  const client = new pg.Client(pgConfig({ applicationName, password, user, database }));
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    return err as PgError;
  }
}

function isClient(x: pg.Client | PgError): x is pg.Client {
  return x instanceof pg.Client;
}

function assertSessionLimit(result: pg.Client | PgError, what: string): void {
  assert.ok(!isClient(result), `${what}: the session must be refused`);
  assert.equal(result.code, '53300', `${what}: ${result.message}`);
  assert.match(result.detail ?? '', /code=AG_ERR_SESSION_LIMIT/, what);
}

test('a borrowed on-behalf-of is refused at the IdP: no principal without its own token', async () => {
  // The old dev-only parameter: any client could name any principal.
  const named = await tokenRequest('demo-agent', { grant_type: 'client_credentials', on_behalf_of: 'dba-agent' });
  assert.equal(named.status, 400);
  assert.equal(named.body['error'], 'invalid_request');
  assert.equal(named.body['access_token'], undefined);

  // Token exchange without a subject token.
  const withoutSubjectToken: Record<string, string>[] = [
    { grant_type: TOKEN_EXCHANGE },
    { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE },
    { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, on_behalf_of: 'dba-agent' },
  ];
  for (const form of withoutSubjectToken) {
    const refused = await tokenRequest('demo-agent', form);
    assert.equal(refused.status, 400, JSON.stringify(form));
    assert.equal(refused.body['error'], 'invalid_request', JSON.stringify(form));
  }

  // Token exchange with forged subject tokens claiming dba-agent: demo-agent's own token with
  // the subject rewritten, and one signed by a key of the attacker's under the IdP's kid.
  const own = token('demo-agent');
  const [header, , signature] = own.split('.');
  const rewritten = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(own), sub: 'dba-agent', client_id: 'dba-agent' })).toString('base64url')}.${signature}`;
  const { privateKey } = await generateKeyPair('ES256');
  const selfSigned = await new SignJWT({ ...decodeJwt(own), sub: 'dba-agent', client_id: 'dba-agent' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeProtectedHeader(own).kid ?? '' })
    .sign(privateKey);
  for (const [what, subjectToken] of [
    ['rewritten sub', rewritten],
    ['foreign signature', selfSigned],
  ] as const) {
    const refused = await tokenRequest('demo-agent', {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
    });
    assert.equal(refused.status, 400, what);
    assert.equal(refused.body['error'], 'invalid_grant', `${what}: ${JSON.stringify(refused.body)}`);
    assert.equal(refused.body['access_token'], undefined, what);
  }

  // The control: with dba-agent's own token the same exchange is granted, and names both.
  const granted = await tokenRequest('demo-agent', {
    grant_type: TOKEN_EXCHANGE,
    subject_token: token('dba-agent'),
    subject_token_type: ACCESS_TOKEN_TYPE,
  });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  const claims = decodeJwt(granted.body['access_token'] as string);
  assert.equal(claims.sub, 'dba-agent');
  assert.deepEqual(claims['act'], { sub: 'demo-agent' });
});

test('quotas count the acting agent: acting for many principals does not lift its own limit, and those principals still get in', async () => {
  // Real delegations, made by the CLI's token exchange: each principal's own token, exchanged
  // by the agent. dba-agent is one of them, so sessions are held in the real agent's name.
  const principals = ['alice', 'bob', 'carol', 'dave', 'dba-agent'];
  const tokens = new Map(principals.map((p) => [p, token(AGENT, ['--on-behalf-of', p])]));
  const marker = uniqueMarker('e2e_deleg');
  const held: pg.Client[] = [];
  try {
    // Fill the agent's quota, one principal after another, none of them anywhere near its own.
    for (let i = 0; i < LIMIT; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, LIMIT - i) }, (_, j) => {
          const principal = principals[(i + j) % principals.length] ?? 'alice';
          return open(tokens.get(principal) ?? '', AGENT, `${marker}_${i + j}`);
        }),
      );
      for (const [j, r] of batch.entries()) {
        if (isClient(r)) held.push(r);
        else assert.fail(`session ${i + j} of ${LIMIT} for ${AGENT} refused: ${r.code} ${r.message}`);
      }
    }
    assert.equal(held.length, LIMIT);

    // One more, for any principal (even a fresh one) or as itself: the agent is full.
    assertSessionLimit(await open(tokens.get('alice') ?? '', AGENT, `${marker}_over`), 'one more for alice');
    assertSessionLimit(await open(token(AGENT, ['--on-behalf-of', 'erin']), AGENT, `${marker}_erin`), 'a new principal');
    assertSessionLimit(await open(token(AGENT), AGENT, `${marker}_self`), 'the agent as itself');

    // The real dba-agent is not refused for the sessions held in its name, nor is another agent.
    // It works on its own connection, scratch (the demo policy allows it nothing on demo); the
    // quota counts identities across connections, so the sessions held in its name on demo count.
    const own = await open(token('dba-agent'), 'dba-agent', `${marker}_dba`, 'scratch');
    assert.ok(isClient(own), `dba-agent refused: ${isClient(own) ? '' : `${own.code} ${own.message}`}`);
    held.push(own);
    assert.equal((await own.query('select 1 as v')).rows[0].v, 1);
    const other = await open(token('demo-agent', ['--on-behalf-of', 'alice']), 'demo-agent', `${marker}_demo`);
    assert.ok(isClient(other), 'demo-agent acting for alice must get in');
    held.push(other);

    // Released exactly: closing one of the agent's sessions admits exactly one more.
    const first = held.shift();
    await first?.end();
    const again = await eventually(
      async () => {
        const r = await open(tokens.get('bob') ?? '', AGENT, `${marker}_again`);
        return isClient(r) ? r : undefined;
      },
      5000,
      100,
    );
    held.push(again);
    assertSessionLimit(await open(tokens.get('bob') ?? '', AGENT, `${marker}_over2`), 'full again');
  } finally {
    await Promise.all(held.map((c) => c.end().catch(() => {})));
  }

  // ClickHouse keeps the two apart: the agent as actor and dba-agent as subject, and
  // dba-agent's own session with itself in both.
  const people = async (applicationName: string) =>
    eventually(async () => {
      const sessionId = await sessionIdFor(ch, stack.clickhouseDatabase, applicationName);
      if (!sessionId) return undefined;
      const r = await ch.query({
        query: `SELECT subject, actor, actor_chain FROM ${stack.clickhouseDatabase}.events
                WHERE session_id = ${quoteString(sessionId)} AND event_type = 'SessionOpened'`,
        format: 'JSONEachRow',
      });
      return (await r.json<{ subject: string; actor: string; actor_chain: string[] }>())[0];
    }, 10_000);
  // Session 4 acted for dba-agent (principals[4]).
  assert.deepEqual(await people(`${marker}_4`), { subject: 'dba-agent', actor: AGENT, actor_chain: ['dba-agent', AGENT] });
  assert.deepEqual(await people(`${marker}_dba`), { subject: 'dba-agent', actor: 'dba-agent', actor_chain: [] });

  // Nothing leaked: with every session closed, the agent gets in again at once.
  const after = await eventually(
    async () => {
      const r = await open(token(AGENT), AGENT, `${marker}_after`);
      return isClient(r) ? r : undefined;
    },
    5000,
    100,
  );
  await after.end();
});
