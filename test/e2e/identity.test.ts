// Identity at the PostgreSQL ingress, against the real development IdP (oidc-provider):
// the README quick start, an attack suite where each forged or unfit token is refused with
// its own AG_ERR_* code and never reaches the target, key rotation without a restart,
// delegation chains in the audit log, token expiry mid-session and admin kill.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { GENESIS, chainEvent, createEventSerde, topicNames, type AuditEvent } from '@agentgate/events';
import { ROOT, clickhouse, eventually, forgetTokens, kafkaAs, pgConfig, stack, token, uniqueMarker } from '../support/stack.js';
import { sessionEvents, sessionIdFor } from '../support/audit.js';

const ch = clickhouse();
after(() => ch.close());

interface PgError {
  code?: string;
  detail?: string;
  message: string;
}

async function connectError(options: { password: string; database?: string; applicationName: string }): Promise<PgError | undefined> {
  const client = new pg.Client(pgConfig(options));
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return err as PgError;
  } finally {
    await client.end().catch(() => {});
  }
}

// The target's log (log_connections; log_line_prefix has %a) names every connection with the
// application_name the gateway forwards, which may be cut short: PostgreSQL keeps 63 bytes,
// and the gateway has forwarded only the first 40 characters. A longer marker is never found
// whole, so a "never reached the target" check on it could not fail: keep markers short.
const MARKER_MAX = 40;

function attemptMarker(): string {
  const marker = uniqueMarker('e2e_atk');
  assert.ok(marker.length <= MARKER_MAX, `marker ${marker} is longer than ${MARKER_MAX} characters`);
  return marker;
}

const targetLog = join(stack.logDir, 'postgres.log');

/** What the target has logged since `offset` (a byte position in its log). */
function targetLogSince(offset: number): string {
  return readFileSync(targetLog).subarray(offset).toString('utf8');
}

function idpSigningKey(): { jwk: JWK; kid: string } {
  const jwks = JSON.parse(readFileSync(join(stack.idpStateDir, 'jwks.json'), 'utf8')) as { keys: JWK[] };
  const jwk = jwks.keys[0]!;
  return { jwk, kid: jwk.kid! };
}

async function forge(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const { jwk, kid } = idpSigningKey();
  const key = await importJWK(jwk, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'demo-agent', groups: ['agents'], client_id: 'demo-agent', jti: uniqueMarker('jti'), ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header })
    .setIssuer((claims['iss'] as string | undefined) ?? stack.idpIssuer)
    .setAudience((claims['aud'] as string | undefined) ?? 'agentgate')
    .setIssuedAt((claims['iat'] as number | undefined) ?? now)
    .setExpirationTime((claims['exp'] as number | undefined) ?? now + 600)
    .sign(key);
}

function b64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Asserts the attempt is refused with its code; returns its marker for the target check. */
async function expectRefused(
  name: string,
  password: string,
  code: string,
  options: { database?: string; sqlstate?: string } = {},
): Promise<{ name: string; app: string }> {
  const app = attemptMarker();
  const error = await connectError({ password, applicationName: app, ...(options.database ? { database: options.database } : {}) });
  assert.ok(error, `${name}: the connection must be refused`);
  assert.equal(error.code, options.sqlstate ?? '28P01', `${name}: SQLSTATE (${error.message})`);
  assert.match(error.detail ?? '', new RegExp(`code=${code};`), `${name}: ${error.detail}`);
  return { name, app };
}

test('the README quick start works as written', () => {
  const r = spawnSync(
    'bash',
    [
      '-c',
      'PGPASSWORD=$(npm run -s token -- demo-agent) psql "host=127.0.0.1 port=15432 dbname=demo user=demo-agent sslmode=require" -tAc "select 1"',
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1');
});

test('attack suite: every forged or unfit token is refused with its own code and never reaches the target', async () => {
  const logStart = statSync(targetLog).size;
  const attempts: { name: string; app: string }[] = [];
  const now = Math.floor(Date.now() / 1000);
  const { kid } = idpSigningKey();
  const publicJwks = await (await fetch(`${stack.idpIssuer}/jwks`).catch(() => fetch(`${stack.idpIssuer}/.well-known/jwks.json`))).text();

  attempts.push(
    await expectRefused(
      'alg_none',
      `${b64url({ alg: 'none', typ: 'JWT', kid })}.${b64url({ iss: stack.idpIssuer, aud: 'agentgate', sub: 'demo-agent', groups: ['agents'], exp: now + 600, iat: now })}.`,
      'AG_ERR_TOKEN_ALG_NOT_ALLOWED',
    ),
  );

  const { createHmac } = await import('node:crypto');
  const hsInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url({ iss: stack.idpIssuer, aud: 'agentgate', sub: 'demo-agent', groups: ['agents'], exp: now + 600, iat: now })}`;
  const hsToken = `${hsInput}.${createHmac('sha256', publicJwks).update(hsInput).digest('base64url')}`;
  attempts.push(await expectRefused('hs256_public_key', hsToken, 'AG_ERR_TOKEN_ALG_NOT_ALLOWED'));

  attempts.push(await expectRefused('expired', await forge({ exp: now - 120, iat: now - 720 }), 'AG_ERR_TOKEN_EXPIRED'));
  attempts.push(await expectRefused('nbf_future', await forge({ nbf: now + 600 }), 'AG_ERR_TOKEN_NOT_YET_VALID'));
  attempts.push(await expectRefused('wrong_issuer', await forge({ iss: 'http://127.0.0.1:14999' }), 'AG_ERR_TOKEN_ISSUER_UNTRUSTED'));
  attempts.push(await expectRefused('wrong_audience', await forge({ aud: 'some-other-api' }), 'AG_ERR_TOKEN_AUDIENCE_MISMATCH'));

  const stranger = await generateKeyPair('ES256');
  const unknownKid = await new SignJWT({ sub: 'demo-agent', groups: ['agents'] })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: uniqueMarker('kid') })
    .setIssuer(stack.idpIssuer)
    .setAudience('agentgate')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(stranger.privateKey);
  attempts.push(await expectRefused('unknown_kid', unknownKid, 'AG_ERR_TOKEN_KEY_UNKNOWN'));

  attempts.push(await expectRefused('malformed', 'this.is-not.a-jwt', 'AG_ERR_TOKEN_MALFORMED'));

  const started = performance.now();
  attempts.push(await expectRefused('one_mib', 'a'.repeat(1024 * 1024), 'AG_ERR_TOKEN_TOO_LARGE'));
  assert.ok(performance.now() - started < 2000, 'a 1 MiB token is refused promptly');

  attempts.push(
    await expectRefused('forbidden_connection', token('report-agent'), 'AG_ERR_CONNECTION_FORBIDDEN', {
      database: 'scratch',
      sqlstate: '28000',
    }),
  );

  // Control, after every attempt: a session that does reach the target shows up in its log
  // with a marker of the same shape, and once it has, anything the attempts caused is there too.
  const control = attemptMarker();
  assert.equal(await connectError({ password: token('demo-agent'), applicationName: control }), undefined);
  const seen = await eventually(async () => {
    const log = targetLogSince(logStart);
    return log.includes(control) ? log : undefined;
  }, 5000);
  assert.deepEqual(
    attempts.filter((a) => seen.includes(a.app)).map((a) => a.name),
    [],
    'attempts the target saw',
  );
});

test('the gateway logs in to the target with its own credential over verified TLS, as the role for the agent', async () => {
  const client = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_upstream_tls') }));
  await client.connect();
  try {
    const row = (await client.query('select current_user as who, ssl from pg_stat_ssl where pid = pg_backend_pid()')).rows[0];
    // demo-agent (group agents) gets demo's read-write role (deploy/connections.json).
    assert.deepEqual(row, { who: 'agentgate_demo_rw', ssl: true });
  } finally {
    await client.end();
  }
});

test('dba-agent may use scratch for real DDL', async () => {
  const client = new pg.Client(
    pgConfig({ applicationName: uniqueMarker('e2e_scratch'), database: 'scratch', password: token('dba-agent') }),
  );
  await client.connect();
  try {
    const table = uniqueMarker('t');
    await client.query(`create table ${table} (id int)`);
    await client.query(`insert into ${table} values (1)`);
    assert.equal((await client.query(`select count(*)::int as n from ${table}`)).rows[0].n, 1);
  } finally {
    await client.end();
  }
});

test('a delegated token shows its whole chain in ClickHouse for each statement', async () => {
  const app = uniqueMarker('e2e_delegated');
  const client = new pg.Client(pgConfig({ applicationName: app, password: token('demo-agent', ['--on-behalf-of', 'dave']) }));
  await client.connect();
  await client.query('select 1');
  await client.query('select 2');
  await client.end();
  const rows = await eventually(async () => {
    const sessionId = await sessionIdFor(ch, stack.clickhouseDatabase, app);
    if (!sessionId) return undefined;
    const r = await sessionEvents(ch, stack.clickhouseDatabase, sessionId);
    return r.filter((e) => e.event_type === 'RequestObserved').length === 2 ? r : undefined;
  }, 5000);
  for (const row of rows.filter((e) => e.event_type === 'RequestObserved')) {
    const chain = (JSON.parse(row.canonical_text) as { actor: { actChain: { subject: string }[] } }).actor.actChain.map((l) => l.subject);
    assert.deepEqual(chain, ['dave', 'demo-agent']);
  }
});

test('token expiry mid-session ends the session with a reconnect message', async () => {
  const client = new pg.Client(pgConfig({ applicationName: uniqueMarker('e2e_expiry'), password: token('demo-agent', ['--ttl', '3']) }));
  const ended = new Promise<PgError>((resolve) => client.on('error', (e) => resolve(e as PgError)));
  await client.connect();
  assert.equal((await client.query('select 1 as v')).rows[0].v, 1);
  const error = await Promise.race([ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), 8000))]);
  assert.ok(error, 'the session must end when the token expires');
  assert.match(error.detail ?? error.message, /AG_ERR_TOKEN_EXPIRED|reconnect/);
  await client.end().catch(() => {});
});

test('an admin kill on the control topic ends a live session within 1 s, and the CLI does the same', async () => {
  const app = uniqueMarker('e2e_kill');
  const client = new pg.Client(pgConfig({ applicationName: app }));
  const ended = new Promise<{ error: PgError; at: number }>((resolve) =>
    client.on('error', (e) => resolve({ error: e as PgError, at: Date.now() })),
  );
  await client.connect();
  await client.query('select 1');
  const sessionId = await eventually(() => sessionIdFor(ch, stack.clickhouseDatabase, app), 20_000);

  const topics = topicNames('agentgate');
  const serde = await createEventSerde({ registryUrl: stack.registryUrl, topics: [topics.control] });
  const kafka = new Kafka({ clientId: 'e2e-kill', ...kafkaAs('operator'), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const command = chainEvent(
    {
      eventId: crypto.randomUUID(),
      eventType: 'SessionKillRequested',
      sessionId: crypto.randomUUID(),
      timeUs: Date.now() * 1000,
      producer: 'e2e',
      traceId: null,
      actor: { subject: 'carol', issuer: 'e2e', groups: ['approvers'], actChain: [], tokenId: null, authMethod: 'none' },
      payload: { targetSessionId: sessionId, reason: 'e2e kill', requestedBy: 'carol' },
    },
    GENESIS,
  ) as AuditEvent;
  const sentAt = Date.now();
  await producer.send({
    topic: topics.control,
    acks: -1,
    messages: [{ key: sessionId, value: await serde.encode(topics.control, command) }],
  });
  await producer.disconnect();
  const { error, at } = await Promise.race([
    ended,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not killed within 5 s')), 5000)),
  ]);
  assert.ok(at - sentAt < 1000, `killed after ${at - sentAt} ms`);
  assert.equal(error.code, '57P01');
  await client.end().catch(() => {});

  // The CLI path.
  const app2 = uniqueMarker('e2e_kill_cli');
  const client2 = new pg.Client(pgConfig({ applicationName: app2 }));
  client2.on('error', () => {});
  await client2.connect();
  await client2.query('select 1');
  const sessionId2 = await eventually(() => sessionIdFor(ch, stack.clickhouseDatabase, app2), 20_000);
  // The CLI verifies who asks: an admin's token (erin is in gateway-admins), no self-declared name.
  const r = spawnSync('npx', ['agentgate', 'kill', '--session', sessionId2, '--reason', 'e2e'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, AGENTGATE_TOKEN: token('erin') },
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /closed \(killed\)/);
  await client2.end().catch(() => {});
});

test('key rotation: a removed key is refused, the new key accepted without restarting the gateway', async () => {
  const before = token('demo-agent', ['--ttl', '600']);
  const oldKid = JSON.parse(Buffer.from(before.split('.')[0]!, 'base64url').toString()).kid as string;
  assert.equal(await connectError({ password: before, applicationName: uniqueMarker('e2e_rot_before') }), undefined);
  const rotate = await fetch(`${stack.idpIssuer}/dev/keys/rotate`, { method: 'POST' });
  assert.ok(rotate.ok, `rotate: ${rotate.status}`);
  const removed = await fetch(`${stack.idpIssuer}/dev/keys/${encodeURIComponent(oldKid)}`, { method: 'DELETE' });
  assert.ok(removed.ok, `delete: ${removed.status}`);
  forgetTokens();
  const after = token('demo-agent');
  assert.notEqual(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, oldKid);
  // The gateway refetches the JWKS on an unknown kid (after its short cooldown).
  await eventually(
    async () =>
      (await connectError({ password: after, applicationName: uniqueMarker('e2e_rot_after') })) === undefined ? true : undefined,
    10_000,
    500,
  );
  await eventually(
    async () => {
      const e = await connectError({ password: before, applicationName: uniqueMarker('e2e_rot_removed') });
      return e && /code=AG_ERR_TOKEN_KEY_REVOKED;/.test(e.detail ?? '') ? true : undefined;
    },
    10_000,
    500,
  );
});
