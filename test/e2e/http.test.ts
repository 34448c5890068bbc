// The HTTP ingress with real curl against the stack's schema registry (the demo connection
// `registry`): a GET allowed, a DELETE refused with problem+json that the registry never
// receives (the subject is still there, asked of the registry directly), and a response whose
// planted card number arrives masked; each exchange is one verifiable audit session.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { quoteString } from '@agentgate/clickhouse';
import { sessionEvents, verifySession } from '../support/audit.js';
import { clickhouse, eventually, ROOT, stack, token, uniqueMarker } from '../support/stack.js';

const GATEWAY = `https://127.0.0.1:${process.env['AG_HTTP_INGRESS_PORT'] ?? 18443}/registry`;
const REGISTRY = stack.registryUrl.replace(/\/apis\/ccompat\/v7$/, '');
const CARD = '4111111111111111';
const subject = uniqueMarker('e2e-http');
const ch = clickhouse();
after(() => ch.close());

interface Curl {
  status: number;
  contentType: string;
  body: string;
}

/** curl through the gateway, the local CA verifying it, `who`'s token as the bearer. */
function curl(method: string, path: string, who = 'demo-agent'): Curl {
  const r = spawnSync(
    'curl',
    [
      '-sS',
      '--cacert',
      stack.caFile,
      '-X',
      method,
      '-H',
      `authorization: Bearer ${token(who)}`,
      '-o',
      '-',
      '-w',
      '\n%{http_code} %{content_type}',
      `${GATEWAY}${path}`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, `curl failed: ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  const [status, contentType] = r.stdout.slice(cut + 1).split(' ');
  return { status: Number(status), contentType: contentType ?? '', body: r.stdout.slice(0, cut) };
}

async function registryDirect(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${REGISTRY}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

test('setup: a subject whose schema documentation carries a card number, registered directly', async () => {
  const schema = { type: 'record', name: 'Payment', doc: `test card ${CARD} from the support desk`, fields: [{ name: 'id', type: 'int' }] };
  const r = await registryDirect('POST', `/apis/ccompat/v7/subjects/${subject}/versions`, { schema: JSON.stringify(schema) });
  assert.equal(r.status, 200, await r.text());
});

test('a GET the policy allows reaches the registry; the planted card number arrives masked', () => {
  const list = curl('GET', '/apis/ccompat/v7/subjects');
  assert.equal(list.status, 200, list.body);
  assert.ok((JSON.parse(list.body) as string[]).includes(subject), 'the agent sees the subject');
  const latest = curl('GET', `/apis/ccompat/v7/subjects/${subject}/versions/latest`);
  assert.equal(latest.status, 200, latest.body);
  assert.equal(latest.body.includes(CARD), false, 'the raw card number reached the agent');
  assert.match(latest.body, /REDACTED:card/);
});

test('a DELETE the policy refuses gets problem+json, and the registry never receives it', async () => {
  const r = curl('DELETE', `/apis/ccompat/v7/subjects/${subject}`);
  assert.equal(r.status, 403, r.body);
  assert.match(r.contentType, /^application\/problem\+json/);
  const problem = JSON.parse(r.body) as { code?: string; status?: number };
  assert.equal(problem.code, 'AG_ERR_POLICY_DENIED');
  const still = await registryDirect('GET', `/apis/ccompat/v7/subjects/${subject}/versions`);
  assert.equal(still.status, 200, 'the subject is still in the registry');
});

test('each exchange is an audit session of its own: request, verdict and masked response in one verifiable chain', async () => {
  const session = await eventually(async () => {
    const rows = await (
      await ch.query({
        query: `SELECT session_id FROM ${stack.clickhouseDatabase}.events WHERE event_type = 'RequestObserved' AND protocol = 'http' AND payload_json LIKE ${quoteString(`%${subject}/versions/latest%`)} LIMIT 1`,
        format: 'JSONEachRow',
      })
    ).json<{ session_id: string }>();
    return rows[0]?.session_id;
  }, 30_000);
  const events = await eventually(async () => {
    const rows = await sessionEvents(ch, stack.clickhouseDatabase, session);
    return rows.some((r) => r.event_type === 'SessionClosed') ? rows : undefined;
  }, 30_000);
  assert.deepEqual(
    events.map((e) => e.event_type),
    ['SessionOpened', 'RequestObserved', 'VerdictIssued', 'ResponseObserved', 'SessionClosed'],
  );
  assert.equal(verifySession(events).ok, true);
  const response = JSON.parse(events[3]!.payload_json) as { httpStatus: number; bodySample: string | null };
  assert.equal(response.httpStatus, 200);
  assert.equal(response.bodySample?.includes(CARD), false, 'the recorded sample is masked');
  // The replay shows the request, its verdict and the masked response, from ClickHouse alone.
  const replay = spawnSync(process.execPath, [join(ROOT, 'services/cli/bin/agentgate.js'), 'replay', session], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(replay.status, 0, replay.stderr);
  assert.match(replay.stdout, new RegExp(`> GET /apis/ccompat/v7/subjects/${subject}/versions/latest`));
  assert.match(replay.stdout, /verdict: allow \(rule http-allow-read/);
  assert.match(replay.stdout, /response: ok, HTTP 200/);
  assert.match(replay.stdout, /REDACTED:card/);
  assert.equal(replay.stdout.includes(CARD), false);
});
