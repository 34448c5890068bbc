// Just-in-time approvals (issue 14), end to end: agents run statements through the gateway with
// node-postgres, approvers decide through the approval service's REST API with tokens of the
// development IdP, and what happened is read back from ClickHouse. The demo policy's rules:
// DELETE on demo (quorum 1, webhook ops-webhook), DELETE of customers (quorum 2), and the
// planner's DELETEs (expiry 10 s). A second ingress with a 3 s approval wait plays the agent
// whose wait runs out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import pg from 'pg';
import { sessionEvents, verifySession, type EventRowView } from '../support/audit.js';
import { startInstance, type ServiceInstance } from '../support/instances.js';
import { ROOT, clickhouse, eventually, pgConfig, stack, stackCommand, stackSecret, token, uniqueMarker } from '../support/stack.js';

const APPROVALS = 'http://127.0.0.1:18080';
const WEBHOOK_PORT = 18089;

interface Problem {
  status: number;
  code?: string;
}
type View = Record<string, unknown> & { id: string; status: string; decisions?: { approver: string; decision: string }[] };

async function api(
  who: string,
  method: 'GET' | 'POST',
  path: string,
  body?: object,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${APPROVALS}${path}`, {
    method,
    headers: { authorization: `Bearer ${token(who)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

async function decide(who: string, id: string, decision: 'approve' | 'deny', comment?: string): Promise<Problem & { view?: View }> {
  const r = await api(who, 'POST', `/v1/approvals/${id}/${decision}`, comment ? { comment } : {});
  return { status: r.status, ...(typeof r.json['code'] === 'string' ? { code: r.json['code'] } : {}), view: r.json as View };
}

async function view(id: string): Promise<View> {
  const r = await api('alice', 'GET', `/v1/approvals/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json as View;
}

/** The approval whose statement text holds `marker` (the statements carry unique ids). */
async function approvalFor(marker: string, status = 'all'): Promise<View> {
  return eventually(async () => {
    const r = await api('alice', 'GET', `/v1/approvals?status=${status}`);
    const list = (r.json['approvals'] ?? []) as View[];
    return list.find((a) => String(a['text']).includes(marker));
  }, 15_000);
}

const clients: pg.Client[] = [];
async function agent(
  app: string,
  options: { user?: string; password?: string; port?: number } = {},
): Promise<pg.Client & { notices: string[] }> {
  const config = pgConfig({
    applicationName: uniqueMarker(app),
    ...(options.user ? { user: options.user } : {}),
    ...(options.password ? { password: options.password } : {}),
  });
  const c = new pg.Client({ ...config, ...(options.port ? { port: options.port } : {}) }) as pg.Client & { notices: string[] };
  c.notices = [];
  c.on('notice', (n) => c.notices.push(`${n.message} ${n.detail ?? ''}`));
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** The refusal of a statement, with its SQLSTATE and the gateway code from its detail. */
async function refusal(p: Promise<unknown>): Promise<{ sqlstate: string; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: string; detail?: string; message: string };
    return { sqlstate: e.code ?? '', code: /code=(AG_ERR_\w+)/.exec(e.detail ?? '')?.[1] ?? '', message: e.message };
  }
  assert.fail('the statement ran');
}

const uid = (): number => 900_000_000 + randomInt(99_999_999);

// The webhook receiver the local stack's ops-webhook channel posts to.
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
let receiver: Server | undefined;
let quick: ServiceInstance | undefined;

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(WEBHOOK_PORT, '127.0.0.1', resolve));
  // An ingress whose agents stop waiting for approval after 3 s.
  quick = await startInstance({ service: 'ingress-postgres', name: 'e2e-approvals-quick', env: { AG_APPROVAL_WAIT_MS: '3000' } });
  await quick.ready(60_000);
});

after(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await quick?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

test('in time: the DELETE waits, an approver approves, it runs; the log holds request, pending verdict, approval request, decision, final verdict and response, all chained', async () => {
  const id = uid();
  const c = await agent('e2e_approval_in_time');
  const running = c.query(`DELETE FROM public.orders WHERE id = ${id}`);
  const pending = await approvalFor(String(id), 'pending');
  assert.equal(pending['requester'], 'demo-agent');
  // The approver sees what the statement would touch (EXPLAIN, never run).
  const shown = await eventually(async () => {
    const v = await view(pending.id);
    return (v['blastRadius'] as { estimatedRows?: number } | null)?.estimatedRows === undefined ? undefined : v;
  }, 10_000);
  assert.equal((shown['blastRadius'] as { planSummary: string }).planSummary, 'Delete on public.orders');
  assert.equal(typeof (shown['blastRadius'] as { estimatedRows: unknown }).estimatedRows, 'number');

  const approved = await decide('alice', pending.id, 'approve', 'looks right');
  assert.equal(approved.status, 200, JSON.stringify(approved));
  const result = (await running) as pg.QueryResult;
  assert.equal(result.command, 'DELETE');
  assert.ok(
    c.notices.some((n) => n.includes(pending.id) && n.includes(APPROVALS)),
    `notice names the approval: ${c.notices.join(' | ')}`,
  );

  // The notification, signed with the stack's webhook secret (checked here independently).
  const hook = await eventually(async () => hooks.find((h) => h.body.includes(pending.id)), 10_000);
  const ts = String(hook.headers['x-agentgate-timestamp']);
  const expected = createHmac('sha256', stackSecret('approval-webhook-secret').trim()).update(`${ts}.${hook.body}`).digest('hex');
  assert.equal(hook.headers['x-agentgate-signature'], `v1=${expected}`);
  assert.equal(JSON.parse(hook.body).approvalId, pending.id);

  // ClickHouse: the agent's session and the approval's own chain, both intact and linked.
  const ch = clickhouse();
  try {
    const links = (await view(pending.id))['links'] as { requestSessionId: string; requestId: string };
    const isOurs = (rows: EventRowView[]): boolean =>
      rows.some((r) => r.event_type === 'ResponseObserved' && r.payload_json.includes(links.requestId));
    const session = await eventually(async () => {
      const rows = await sessionEvents(ch, stack.clickhouseDatabase, links.requestSessionId);
      return isOurs(rows) ? rows : undefined;
    }, 20_000);
    const chain = await eventually(async () => {
      const rows = await sessionEvents(ch, stack.clickhouseDatabase, pending.id);
      return rows.some((r) => r.event_type === 'ApprovalResolved') ? rows : undefined;
    }, 20_000);
    assert.deepEqual(verifySession(session).ok, true, JSON.stringify(verifySession(session)));
    assert.deepEqual(verifySession(chain).ok, true, JSON.stringify(verifySession(chain)));
    const of = (rows: EventRowView[], type: string, pred: (r: EventRowView) => boolean = () => true): EventRowView => {
      const row =
        rows.find((r) => r.event_type === type && r.payload_json.includes(links.requestId) && pred(r)) ??
        rows.find((r) => r.event_type === type && pred(r));
      assert.ok(row, `no ${type}`);
      return row;
    };
    const request = of(session, 'RequestObserved');
    const pendingVerdict = of(session, 'VerdictIssued', (r) => r.decision === 'pending_approval');
    const finalVerdict = of(session, 'VerdictIssued', (r) => r.decision === 'allow');
    const response = of(session, 'ResponseObserved');
    const asked = of(chain, 'ApprovalRequested');
    const decided = of(chain, 'ApprovalDecided');
    const resolved = of(chain, 'ApprovalResolved');
    assert.equal(JSON.parse(decided.canonical_text).actor.subject, 'alice', 'the decision carries the approver');
    const inOrder = [request, pendingVerdict, asked, decided, finalVerdict, response];
    for (let i = 1; i < inOrder.length; i++) {
      assert.ok(inOrder[i]!.time_us >= inOrder[i - 1]!.time_us, `${inOrder[i]!.event_type} before ${inOrder[i - 1]!.event_type}`);
    }
    // Linked by id and hash: the approval names the request and its pending verdict, the final
    // verdict chains onto the pending one, the outcome onto the decision.
    const askedPayload = JSON.parse(asked.payload_json) as { requestHash: string; pendingVerdictHash: string };
    assert.equal(askedPayload.requestHash, request.hash);
    assert.equal(askedPayload.pendingVerdictHash, pendingVerdict.hash);
    assert.equal(finalVerdict.prev_hash, pendingVerdict.hash);
    assert.equal(resolved.prev_hash, decided.hash);
    assert.equal(response.prev_hash, finalVerdict.hash);
    // And the chain tool a user runs says so, for the session and for the approval.
    for (const chainId of [links.requestSessionId, pending.id]) {
      const r = spawnSync(process.execPath, [join(ROOT, 'services/cli/bin/agentgate.js'), 'verify-chain', '--session', chainId, '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).broken, [], chainId);
    }
  } finally {
    await ch.close();
  }
});

test('late: the agent gets the approval id, the approver approves, the identical statement then runs once; a second run and a different statement wait again', async () => {
  const id = uid();
  const sql = `DELETE FROM public.orders WHERE id = ${id}`;
  const c = await agent('e2e_approval_late', { port: quick!.pgPort });
  const first = await refusal(c.query(sql));
  assert.equal(first.sqlstate, '55P03');
  assert.equal(first.code, 'AG_ERR_APPROVAL_PENDING');
  const pending = await approvalFor(String(id));
  assert.ok(first.message.includes(pending.id), first.message);
  assert.equal((await decide('carol', pending.id, 'approve')).status, 200);
  const rerun = (await c.query(sql)) as pg.QueryResult;
  assert.equal(rerun.command, 'DELETE');
  assert.equal(((await view(pending.id))['grant'] as { uses: number }).uses, 1);
  const second = await refusal(c.query(sql));
  assert.equal(second.code, 'AG_ERR_APPROVAL_PENDING', 'a grant is for one execution');
  assert.ok(!second.message.includes(pending.id), 'a new approval is asked for');
  const other = await refusal(c.query(`DELETE FROM public.orders WHERE id = ${id + 1}`));
  assert.equal(other.code, 'AG_ERR_APPROVAL_PENDING', 'a different statement is not covered');
});

test('no self-approval: the requester and the human its agent acts for are refused', async () => {
  const id = uid();
  const forAlice = token('demo-agent', ['--on-behalf-of', 'alice']);
  const c = await agent('e2e_approval_self', { port: quick!.pgPort, password: forAlice });
  const waiting = refusal(c.query(`DELETE FROM public.orders WHERE id = ${id}`));
  const pending = await approvalFor(String(id));
  const byHuman = await decide('alice', pending.id, 'approve');
  assert.deepEqual([byHuman.status, byHuman.code], [403, 'AG_ERR_APPROVAL_SELF']);
  const byAgent = await decide('demo-agent', pending.id, 'approve');
  assert.deepEqual([byAgent.status, byAgent.code], [403, 'AG_ERR_APPROVAL_SELF']);
  const byAuditor = await decide('bob', pending.id, 'approve');
  assert.deepEqual([byAuditor.status, byAuditor.code], [403, 'AG_ERR_APPROVAL_FORBIDDEN']);
  assert.equal((await view(pending.id)).status, 'pending', 'refusals decide nothing');
  assert.equal((await waiting).code, 'AG_ERR_APPROVAL_PENDING');
  assert.equal((await decide('carol', pending.id, 'deny', 'not today')).status, 200);
});

test('quorum of two: one approval is not enough, two run the statement, and a deny after one approval ends the request', async () => {
  // Two approvals: it runs.
  const ok = uid();
  const c = await agent('e2e_approval_quorum');
  const running = c.query(`DELETE FROM public.customers WHERE id = ${ok}`);
  const a = await approvalFor(String(ok), 'pending');
  assert.equal((await decide('alice', a.id, 'approve')).view?.status, 'pending', 'one of two');
  // The second approval through the CLI, as an approver runs it.
  const cli = spawnSync(
    process.execPath,
    [join(ROOT, 'services/cli/bin/agentgate.js'), 'approvals', 'approve', a.id, '--comment', 'second', '--json'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, AGENTGATE_TOKEN: token('carol') },
    },
  );
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).status, 'approved');
  assert.equal(((await running) as pg.QueryResult).command, 'DELETE');
  // One approval, then a deny: ended, and the waiting agent gets the denial.
  const denied = uid();
  const waiting = refusal(c.query(`DELETE FROM public.customers WHERE id = ${denied}`));
  const b = await approvalFor(String(denied), 'pending');
  assert.equal((await decide('alice', b.id, 'approve')).view?.status, 'pending');
  assert.equal((await decide('carol', b.id, 'deny', 'no')).view?.status, 'denied');
  const refused = await waiting;
  assert.deepEqual([refused.sqlstate, refused.code], ['42501', 'AG_ERR_APPROVAL_DENIED']);
  const closed = await decide('alice', b.id, 'approve');
  assert.equal(closed.code, 'AG_ERR_APPROVAL_CLOSED');
});

test('expiry: undecided past its rule expiry the request expires (an event), the waiting agent is told, and its retry is refused', async () => {
  const id = uid();
  const sql = `DELETE FROM public.orders WHERE id = ${id}`;
  const c = await agent('e2e_approval_expiry', { user: 'planner', password: token('planner') });
  const started = Date.now();
  const expired = await refusal(c.query(sql));
  assert.deepEqual([expired.sqlstate, expired.code], ['42501', 'AG_ERR_APPROVAL_EXPIRED']);
  assert.ok(Date.now() - started >= 9_000, 'not before the rule expiry (10 s)');
  const a = await approvalFor(String(id));
  assert.equal((await view(a.id)).status, 'expired');
  const retry = await refusal(c.query(sql));
  assert.deepEqual([retry.sqlstate, retry.code], ['42501', 'AG_ERR_APPROVAL_EXPIRED']);
  assert.ok(Date.now() - started < 25_000, 'the retry is refused at once, not held');
  const ch = clickhouse();
  try {
    const rows = await eventually(async () => {
      const r = await sessionEvents(ch, stack.clickhouseDatabase, a.id);
      return r.some((e) => e.event_type === 'ApprovalResolved') ? r : undefined;
    }, 20_000);
    assert.equal(rows.find((e) => e.event_type === 'ApprovalResolved')?.outcome, 'expired');
  } finally {
    await ch.close();
  }
});

test('restart: pending requests and decisions survive the approval service restarting, rebuilt from the log; a webhook receiver that is down loses nothing', async () => {
  // The receiver goes away: notifications fail, approvals do not.
  await new Promise<void>((resolve) => receiver!.close(() => resolve()));
  receiver = undefined;
  const id = uid();
  const c = await agent('e2e_approval_restart');
  const running = c.query(`DELETE FROM public.customers WHERE id = ${id}`);
  const a = await approvalFor(String(id), 'pending');
  assert.equal((await decide('alice', a.id, 'approve', 'first of two')).status, 200);
  stackCommand('stop', 'approval-service');
  stackCommand('start', 'approval-service');
  // A connection kept alive to the stopped process fails once; the service itself is ready.
  const rebuilt = await eventually(() => view(a.id).catch(() => undefined), 10_000);
  assert.equal(rebuilt.status, 'pending');
  assert.deepEqual(
    rebuilt.decisions?.map((d) => [d.approver, d.decision]),
    [['alice', 'approve']],
  );
  assert.equal((await decide('carol', a.id, 'approve')).view?.status, 'approved');
  assert.equal(((await running) as pg.QueryResult).command, 'DELETE');
});
