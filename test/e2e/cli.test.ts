// The CLI (`npx agentgate`) against the running stack, as a user runs it: every --json output
// parsed and checked, verify-chain refusing to pass on nothing, and kill allowed only to a
// verified administrator, whose identity the audit log then carries.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { quoteString } from '@agentgate/clickhouse';
import { ROOT, clickhouse, eventually, pgConfig, stack, token, uniqueMarker } from '../support/stack.js';
import { sessionIdFor } from '../support/audit.js';

const ch = clickhouse();
after(() => ch.close());

const BIN = join(ROOT, 'services/cli/bin/agentgate.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; AGENTGATE_TOKEN is exactly what `tokenValue` says (never inherited). */
function agentgate(args: string[], tokenValue?: string, extraEnv: Record<string, string> = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env['AGENTGATE_TOKEN'];
  if (tokenValue !== undefined) env['AGENTGATE_TOKEN'] = tokenValue;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Parses stdout as exactly one JSON document (anything else on stdout fails the parse). */
function json<T>(r: Run): T {
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A live session through the gateway, identified by its session id in the audit log. */
async function openSession(
  prefix: string,
): Promise<{ client: pg.Client; sessionId: string; ended: Promise<{ code?: string; message: string }> }> {
  const app = uniqueMarker(prefix);
  const client = new pg.Client(pgConfig({ applicationName: app }));
  const ended = new Promise<{ code?: string; message: string }>((resolve) =>
    client.on('error', (e) => resolve(e as { code?: string; message: string })),
  );
  await client.connect();
  await client.query('select 1');
  const sessionId = await eventually(() => sessionIdFor(ch, stack.clickhouseDatabase, app), 10_000);
  return { client, sessionId, ended };
}

test('token: stdout is the token alone; --json describes it', () => {
  const plain = agentgate(['token', 'demo-agent']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);

  const doc = json<{ access_token: string; expires_at: string; subject: string; groups: string[]; issuer: string; actors: string[] }>(
    agentgate(['token', 'dba-agent', '--on-behalf-of', 'alice', '--ttl', '300', '--json']),
  );
  assert.match(doc.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(doc.subject, 'alice');
  assert.deepEqual(doc.actors, ['dba-agent']);
  assert.deepEqual(doc.groups, ['dba-agents']);
  assert.equal(doc.issuer, stack.idpIssuer);
  const ttl = (Date.parse(doc.expires_at) - Date.now()) / 1000;
  assert.ok(ttl > 240 && ttl <= 305, `expires in ${ttl} s`);
});

test('whoami --json: the verified subject, groups, delegation chain and admin flag', () => {
  const delegated = json<{
    subject: string;
    issuer: string;
    groups: string[];
    act_chain: { subject: string }[];
    expires_at: string;
    admin: boolean;
  }>(agentgate(['whoami', '--json'], token('dba-agent', ['--on-behalf-of', 'alice', '--via', 'planner'])));
  assert.equal(delegated.subject, 'alice');
  assert.equal(delegated.issuer, stack.idpIssuer);
  assert.deepEqual(delegated.groups, ['dba-agents']);
  assert.deepEqual(
    delegated.act_chain.map((l) => l.subject),
    ['alice', 'planner', 'dba-agent'],
  );
  assert.ok(Date.parse(delegated.expires_at) > Date.now());
  assert.equal(delegated.admin, false);
  assert.equal(json<{ admin: boolean }>(agentgate(['whoami', '--json'], token('erin'))).admin, true);

  const garbage = agentgate(['whoami'], 'not-a-token');
  assert.equal(garbage.status, 1);
  assert.match(garbage.stderr, /AG_ERR_TOKEN_MALFORMED/);
  assert.match(garbage.stderr, /agentgate token <identity>/);
});

test('connections --json: the catalog, what the caller may use, and no credential reference', () => {
  const doc = json<{
    caller: { subject: string };
    connections: {
      name: string;
      target: { port: number; database: string };
      allowed_groups: string[];
      credential: string;
      may_use: boolean;
    }[];
  }>(agentgate(['connections', '--json'], token('demo-agent')));
  assert.equal(doc.caller.subject, 'demo-agent');
  const byName = new Map(doc.connections.map((c) => [c.name, c]));
  assert.equal(byName.get('demo')?.may_use, true);
  assert.equal(byName.get('scratch')?.may_use, false);
  assert.equal(byName.get('demo')?.target.port, stack.targetPort);
  assert.equal(byName.get('demo')?.credential, 'file');
  assert.doesNotMatch(JSON.stringify(doc), /target-[a-z-]*password|AG_SECRETS_DIR|file:/);
  // Without a token the list is the same, with no verdicts.
  const anonymous = json<{ caller: null; connections: object[] }>(agentgate(['connections', '--json']));
  assert.equal(anonymous.caller, null);
  assert.ok(anonymous.connections.every((c) => !('may_use' in c)));
});

test('sessions and verify-chain --json see a live session; verify-chain of an unknown session exits 3, never 0', async () => {
  const { client, sessionId } = await openSession('e2e_cli_sessions');
  try {
    const listed = await eventually(
      async () => {
        const doc = json<{
          sessions: { session_id: string; subject: string; actor: string; connection: string; requests: number; state: string }[];
        }>(agentgate(['sessions', '--limit', '500', '--json']));
        return doc.sessions.find((s) => s.session_id === sessionId);
      },
      10_000,
      500,
    );
    assert.equal(listed.subject, 'demo-agent');
    assert.equal(listed.actor, 'demo-agent');
    assert.equal(listed.connection, 'demo');
    assert.equal(listed.state, 'open');

    const report = json<{ checked: number; verified: number; broken: unknown[]; ok: boolean; scope: { session: string } }>(
      agentgate(['verify-chain', '--session', sessionId, '--json']),
    );
    assert.deepEqual(
      { checked: report.checked, verified: report.verified, broken: report.broken, ok: report.ok },
      { checked: 1, verified: 1, broken: [], ok: true },
    );
    assert.equal(report.scope.session, sessionId);
    const text = agentgate(['verify-chain', '--session', sessionId]);
    assert.equal(text.status, 0);
    assert.match(text.stdout, /^1 of 1 session chains verify \(1 checked in total, 0 broken/m);
  } finally {
    await client.end().catch(() => {});
  }

  const unknown = '00000000-0000-4000-8000-00000000dead';
  const missing = agentgate(['verify-chain', '--session', unknown, '--json']);
  assert.equal(missing.status, 3, missing.stderr);
  const doc = JSON.parse(missing.stdout) as { checked: number; ok: boolean };
  assert.deepEqual({ checked: doc.checked, ok: doc.ok }, { checked: 0, ok: false });
  assert.match(missing.stderr, /NOTHING VERIFIED/);
  assert.equal(agentgate(['verify-chain', '--session', unknown]).status, 3);
});

test('kill: refused without a token and for a non-admin; an admin ends the session and is recorded', async () => {
  const { client, sessionId, ended } = await openSession('e2e_cli_kill');
  try {
    const anonymous = agentgate(['kill', '--session', sessionId]);
    assert.equal(anonymous.status, 1, anonymous.stderr);
    assert.match(anonymous.stderr, /AG_ERR_AUTH_REQUIRED/);
    assert.match(anonymous.stderr, /agentgate token <identity>/);

    const agent = agentgate(['kill', '--session', sessionId, '--reason', 'not allowed'], token('demo-agent'));
    assert.equal(agent.status, 1, agent.stderr);
    assert.match(agent.stderr, /AG_ERR_POLICY_DENIED/);
    assert.match(agent.stderr, /gateway-admins/);
    // Both refusals left the session alone.
    assert.equal((await client.query('select 2 as v')).rows[0].v, 2);

    const reason = uniqueMarker('e2e cli kill');
    const killed = json<{ session_id: string; requested_by: string; kill_sent: boolean; closed: boolean; outcome: string }>(
      agentgate(['kill', '--session', sessionId, '--reason', reason, '--json'], token('erin')),
    );
    assert.deepEqual(killed, { session_id: sessionId, requested_by: 'erin', kill_sent: true, closed: true, outcome: 'killed' });
    const error = await Promise.race([
      ended,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the client saw no kill within 5 s')), 5000)),
    ]);
    assert.equal(error.code, '57P01');
  } finally {
    await client.end().catch(() => {});
  }

  // The request in the audit log: the verified admin as actor and requester. Kill requests are
  // keyed by the target session, so they share a partition: once erin's is projected, any
  // request the refused callers might have slipped through would be there too.
  const rows = await eventually(async () => {
    const r = await ch.query({
      query: `SELECT subject, actor, actor_issuer, actor_groups, token_id, payload_json, canonical_text FROM ${stack.clickhouseDatabase}.events
              WHERE event_type = 'SessionKillRequested' AND request_id = ${quoteString(sessionId)}`,
      format: 'JSONEachRow',
    });
    const list = await r.json<{
      subject: string;
      actor: string;
      actor_issuer: string;
      actor_groups: string[];
      token_id: string;
      payload_json: string;
      canonical_text: string;
    }>();
    return list.length > 0 ? list : undefined;
  }, 10_000);
  assert.equal(rows.length, 1, "only the admin's request was published");
  const [row] = rows;
  assert.equal(row!.subject, 'erin');
  assert.equal(row!.actor, 'erin');
  assert.equal(row!.actor_issuer, stack.idpIssuer);
  assert.deepEqual(row!.actor_groups, ['gateway-admins']);
  assert.notEqual(row!.token_id, '');
  assert.equal((JSON.parse(row!.payload_json) as { requestedBy: string }).requestedBy, 'erin');
  assert.match(row!.canonical_text, /"authMethod":"oidc-access-token"/);

  const closed = await eventually(async () => {
    const r = await ch.query({
      query: `SELECT outcome, error_code FROM ${stack.clickhouseDatabase}.events WHERE session_id = ${quoteString(sessionId)} AND event_type = 'SessionClosed'`,
      format: 'JSONEachRow',
    });
    return (await r.json<{ outcome: string; error_code: string }>())[0];
  }, 10_000);
  assert.deepEqual(closed, { outcome: 'killed', error_code: 'AG_ERR_SESSION_KILLED' });
});

test('a component that is down is named, with a pointer to npm run status, and nothing else on stderr', () => {
  // Port 9 (discard) is closed on loopback; each case points one component there and keeps the rest real.
  const closed = 'http://127.0.0.1:9';
  const erin = token('erin');
  const someSession = '00000000-0000-4000-8000-00000000beef';
  const cases: { what: string; run: () => Run; message: RegExp }[] = [
    {
      what: 'ClickHouse',
      run: () => agentgate(['sessions'], undefined, { AG_CLICKHOUSE_URL: closed }),
      message: /ClickHouse at http:\/\/127\.0\.0\.1:9 is unreachable/,
    },
    {
      what: 'development IdP',
      run: () => agentgate(['token', 'demo-agent'], undefined, { AG_DEV_IDP_ISSUER: closed }),
      message: /The development IdP at .* is unreachable/,
    },
    {
      what: 'schema registry',
      run: () => agentgate(['kill', '--session', someSession], erin, { AG_REGISTRY_URL: closed }),
      message: /The schema registry at .* is unreachable/,
    },
    {
      what: 'Kafka',
      run: () => agentgate(['kill', '--session', someSession], erin, { AG_KAFKA_BROKERS: '127.0.0.1:9' }),
      message: /Kafka at 127\.0\.0\.1:9 is unreachable/,
    },
  ];
  for (const { what, run, message } of cases) {
    const r = run();
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, '', what);
    const lines = r.stderr.trimEnd().split('\n');
    // One message, one hint: no library log lines (kafkajs, @clickhouse/client) and no stack trace.
    assert.equal(lines.length, 2, `${what}:\n${r.stderr}`);
    assert.match(lines[0]!, message, what);
    assert.match(lines[1]!, /npm run status/, what);
  }
});
