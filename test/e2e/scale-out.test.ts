// Horizontal scale: a second ingress and a second policy processor, started here as child
// processes with the stack's own environment (test/support/instances.ts), next to the stack's
// first instances. Clients spread over both ingresses; the processors share one consumer group,
// so each decides the sessions of its partitions. Checked from three sides: each client's answer,
// the audit log read straight from Kafka (every request has exactly one verdict, every response
// follows an allow verdict) and the target's table (a row for each statement that succeeded and
// for nothing else). Then the second processor is killed with SIGKILL mid-run: statements wait
// or fail with the verdict timeout until the group has rebalanced, and none runs without a verdict.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createEventSerde, topicNames, type AuditEvent, type AuditEventOf, type EventSerde } from '@agentgate/events';
import { metricValue, startInstance, type ServiceInstance } from '../support/instances.js';
import { quietKafka, readRange, topicEnds, type TopicEnds } from '../support/kafka-range.js';
import { kafkaAs, pgConfig, stack, targetQuery, token, uniqueMarker } from '../support/stack.js';

// dba-agents may write on the scratch connection; the table is this run's own.
const DATABASE = 'scratch';
const TABLE = uniqueMarker('scale_out');
const RUN = uniqueMarker('e2e_scale');
// The instances' name: their verdict and control consumer groups are reused from run to run.
const NAME = 'e2e-scale-out';
const BASE_PROCESSOR_ADMIN = Number(process.env['AG_POLICY_PROCESSOR_ADMIN_PORT'] ?? 15481);
const VERDICTS_TOTAL = 'agentgate_policy_verdicts_total';
// The processors' consumer group (their config default).
const PROCESSOR_GROUP = process.env['AG_POLICY_CONSUMER_GROUP'] ?? 'agentgate-policy-processor';

const topics = topicNames();
const kafka = quietKafka({ clientId: 'e2e-scale-out', ...kafkaAs() });
const admin = kafka.admin();
let serde: EventSerde;
let ingress2: ServiceInstance | undefined;
let processor2: ServiceInstance | undefined;

// Statement values are unique in the run; value * 7 stays within int4.
let nextValue = 1_000_000 + Math.floor(Math.random() * 200_000_000);
const statement = (value: number): string => `insert into ${TABLE} (v) values (${value}) returning v * 7 as r`;
const statementValue = (sql: string): number | undefined => {
  const m = /^insert into \S+ \(v\) values \((\d+)\) returning v \* 7 as r$/.exec(sql);
  return m ? Number(m[1]) : undefined;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let retriedOpens = 0;

async function baseProcessorMetrics(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${BASE_PROCESSOR_ADMIN}/metrics`, { signal: AbortSignal.timeout(2000) });
  return r.text();
}

/** The processors' consumer group: its state and how many members it has. */
async function processorGroup(): Promise<{ state: string; members: number }> {
  const [group] = (await admin.describeGroups([PROCESSOR_GROUP])).groups;
  return { state: group?.state ?? 'unknown', members: group?.members.length ?? 0 };
}

function livePolicy(metrics: string): string | undefined {
  return /^agentgate_policy_info\{[^}]*version="([^"]+)",shadow="false"\} 1$/m.exec(metrics)?.[1];
}

/** Waits for `done()`, checking every 100 ms; past the deadline fails with `describe()`. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`${describe()} (waited ${timeoutMs} ms)`);
    await sleep(100);
  }
}

interface Outcome {
  agent: string;
  value: number;
  ok: boolean;
  /** SQLSTATE, or `wrong-answer`, or `no-code` for an error without one. */
  sqlstate?: string;
  /** The gateway's code from the error's detail (code=AG_ERR_...). */
  code?: string;
  message?: string;
  startedAt: number;
}

/** One client of the run, on one ingress port; reconnects after a failure. */
class Agent {
  client: pg.Client | undefined;
  readonly sessions: string[] = [];
  streak = 0;
  constructor(
    readonly label: string,
    readonly port: number,
  ) {}

  private async connectOnce(): Promise<void> {
    const c = new pg.Client({
      ...pgConfig({ applicationName: `${RUN}_${this.label}`, database: DATABASE, user: 'dba-agent', password: token('dba-agent') }),
      port: this.port,
    });
    c.on('error', () => {});
    // The gateway reports the audit session id as a run-time parameter.
    c.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => {
      if (m.parameterName === 'agentgate.session_id') this.sessions.push(m.parameterValue);
    });
    await c.connect().catch(async (err: unknown) => {
      await c.end().catch(() => {});
      throw err;
    });
    this.client = c;
  }

  /**
   * Opens a session. Opening is not what this file tests: a storm of TLS handshakes on a busy
   * 2-core machine can overrun the ingress's 3 s startup budget, so a failed open is tried again,
   * twice, and counted in `retriedOpens`. No statement has been sent at that point.
   */
  async open(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connectOnce();
      } catch (err) {
        if (attempt === 3) throw err;
        retriedOpens++;
        await sleep(500);
      }
    }
  }

  /** Runs the statement for `value`, opening a session first if needed; never throws. */
  async run(value: number): Promise<Outcome> {
    const startedAt = Date.now();
    if (!this.client) {
      const failed = await this.open().then(
        () => undefined,
        (e: { code?: string; message: string }) => e,
      );
      if (failed) {
        this.streak = 0;
        return {
          agent: this.label,
          value,
          ok: false,
          sqlstate: failed.code ?? 'no-code',
          message: `connect: ${failed.message}`,
          startedAt,
        };
      }
    }
    const outcome: Outcome = await this.client!.query(statement(value)).then(
      (r) =>
        r.rows[0]?.r === value * 7
          ? { agent: this.label, value, ok: true, startedAt }
          : { agent: this.label, value, ok: false, sqlstate: 'wrong-answer', message: JSON.stringify(r.rows), startedAt },
      (e: { code?: string; detail?: string; message: string }) => ({
        agent: this.label,
        value,
        ok: false,
        sqlstate: e.code ?? 'no-code',
        code: /code=(AG_ERR_[A-Z_]+)/.exec(e.detail ?? '')?.[1],
        message: e.message,
        startedAt,
      }),
    );
    if (outcome.ok) this.streak++;
    else {
      this.streak = 0;
      // 08006 ends the session; start afresh either way.
      await this.close();
    }
    return outcome;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}

/** `count` agents, alternating between the stack's ingress and the second one. */
function agents(prefix: string, count: number): Agent[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0 ? new Agent(`${prefix}${i}_a`, stack.ingressPort) : new Agent(`${prefix}${i}_b`, ingress2!.pgPort!),
  );
}

/** The events of the agents' sessions between two snapshots of the log. */
async function auditOf(group: readonly Agent[], from: TopicEnds): Promise<AuditEvent[]> {
  const sessions = new Set(group.flatMap((a) => a.sessions));
  const to = await topicEnds(admin, [topics.ingress, topics.verdicts]);
  return readRange({ kafka, serde, from, to, keep: (key) => sessions.has(key), timeoutMs: 30_000 });
}

interface Trail {
  requests: AuditEventOf<'RequestObserved'>[];
  verdicts: Map<string, AuditEventOf<'VerdictIssued'>[]>;
  responses: Map<string, AuditEventOf<'ResponseObserved'>[]>;
  opened: Map<string, AuditEventOf<'SessionOpened'>>;
}

function trail(events: readonly AuditEvent[]): Trail {
  const t: Trail = { requests: [], verdicts: new Map(), responses: new Map(), opened: new Map() };
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => void m.set(k, [...(m.get(k) ?? []), v]);
  for (const e of events) {
    if (e.eventType === 'RequestObserved') t.requests.push(e);
    else if (e.eventType === 'VerdictIssued') push(t.verdicts, e.payload.requestId, e);
    else if (e.eventType === 'ResponseObserved') push(t.responses, e.payload.requestId, e);
    else if (e.eventType === 'SessionOpened') t.opened.set(e.sessionId, e);
  }
  return t;
}

const sqlOf = (r: AuditEventOf<'RequestObserved'>): string => (r.payload.detail.kind === 'sql' ? r.payload.detail.text : '');

/**
 * What the log must show whatever happened: every ResponseObserved answers a request of its
 * session that has an allow verdict earlier in the chain. Returns the violations.
 */
function responsesWithoutAllow(t: Trail): string[] {
  const problems: string[] = [];
  for (const [requestId, responses] of t.responses) {
    for (const response of responses) {
      const allow = (t.verdicts.get(requestId) ?? []).find(
        (v) => v.payload.decision === 'allow' && v.sessionId === response.sessionId && v.seq < response.seq,
      );
      if (!allow) problems.push(`ResponseObserved of request ${requestId} (session ${response.sessionId}) has no allow verdict before it`);
    }
  }
  return problems;
}

/**
 * Compares the target's rows in the range of `sent` with the values that succeeded: returns the
 * rows that should not be there (or are there twice) and the successes that left no row.
 */
function targetMismatch(sent: readonly number[], succeeded: readonly number[]): { unexpected: number[]; missing: number[] } {
  const lo = Math.min(...sent);
  const hi = Math.max(...sent);
  const out = targetQuery(`select v from ${TABLE} where v between ${lo} and ${hi} order by v`, DATABASE);
  const rows = out === '' ? [] : out.split('\n').map(Number);
  const left = new Set(succeeded);
  const unexpected: number[] = [];
  for (const v of rows) if (!left.delete(v)) unexpected.push(v);
  return { unexpected, missing: [...left] };
}

before(async () => {
  ingress2 = await startInstance({ service: 'ingress-postgres', name: NAME });
  processor2 = await startInstance({ service: 'policy-processor', name: NAME });
  await Promise.all([ingress2.ready(60_000), processor2.ready(60_000)]);
  await admin.connect();
  serde = await createEventSerde({ registryUrl: stack.registryUrl, topics: [topics.ingress, topics.verdicts] });
  // Both processors must decide with the same policy, or "its own verdict" would depend on the partition.
  const [base, second] = [livePolicy(await baseProcessorMetrics()), livePolicy(await processor2.metrics())];
  assert.ok(base, 'the stack policy processor reports its live policy');
  assert.equal(second, base, "the second processor decides with the stack processor's live policy");
  const setup = new Agent('setup', stack.ingressPort);
  await setup.open();
  try {
    await setup.client!.query(`create table ${TABLE} (v int not null)`);
  } finally {
    await setup.close();
  }
});

after(async () => {
  await Promise.all([ingress2?.stop(), processor2?.stop()]);
  await admin.disconnect().catch(() => {});
  targetQuery(`drop table if exists ${TABLE}`, DATABASE);
});

test('two ingresses, two processors: every statement gets exactly its own verdict, and both processors decide', async (ctx) => {
  const p2 = processor2!;
  // The second processor has joined the group; wait until it has decided something (it owns
  // partitions), so the measured run does not start inside the rebalance its arrival caused.
  // A session stays on one partition: each try opens a new one.
  const warm = new Agent('warm', ingress2!.pgPort!);
  const warmStart = metricValue(await p2.metrics(), VERDICTS_TOTAL);
  const warmStartedAt = Date.now();
  await until(
    async () => {
      const o = await warm.run(nextValue++);
      await warm.close();
      return o.ok && metricValue(await p2.metrics(), VERDICTS_TOTAL) > warmStart;
    },
    45_000,
    () => 'the second processor decided nothing: it was given no partition of the ingress topic',
  );
  ctx.diagnostic(`the second processor decided its first statement after ${Date.now() - warmStartedAt} ms`);

  const group = agents('one', 16);
  const perAgent = 16;
  const from = await topicEnds(admin, [topics.ingress, topics.verdicts]);
  for (const a of group) await a.open();
  const runStartedAt = Date.now();
  const decidedBefore = [metricValue(await baseProcessorMetrics(), VERDICTS_TOTAL), metricValue(await p2.metrics(), VERDICTS_TOTAL)];
  const outcomes = (
    await Promise.all(
      group.map(async (a) => {
        const mine: Outcome[] = [];
        try {
          for (let i = 0; i < perAgent; i++) mine.push(await a.run(nextValue++));
        } finally {
          await a.close();
        }
        return mine;
      }),
    )
  ).flat();
  const decidedAfter = [metricValue(await baseProcessorMetrics(), VERDICTS_TOTAL), metricValue(await p2.metrics(), VERDICTS_TOTAL)];
  ctx.diagnostic(
    `${outcomes.length} statements in ${Date.now() - runStartedAt} ms; verdicts by the stack's processor ${decidedAfter[0]! - decidedBefore[0]!}, by the second ${decidedAfter[1]! - decidedBefore[1]!}`,
  );

  // Each client got the right answer for each of its statements.
  assert.equal(outcomes.length, group.length * perAgent);
  assert.deepEqual(
    outcomes.filter((o) => !o.ok).slice(0, 5),
    [],
    `${outcomes.filter((o) => !o.ok).length} of ${outcomes.length} statements failed`,
  );
  // Both processors decided part of this run (the partitions are split between them).
  assert.ok(decidedAfter[0]! > decidedBefore[0]!, `the stack's processor decided none of the run (${decidedBefore} -> ${decidedAfter})`);
  assert.ok(decidedAfter[1]! > decidedBefore[1]!, `the second processor decided none of the run (${decidedBefore} -> ${decidedAfter})`);

  // The audit log: per statement one request, exactly one verdict (allow) and one response after it.
  const readStartedAt = Date.now();
  const t = trail(await auditOf(group, from));
  ctx.diagnostic(`the audit log of the run read from Kafka in ${Date.now() - readStartedAt} ms`);
  const sessionsViaSecond = new Set(group.filter((a) => a.port === ingress2!.pgPort).flatMap((a) => a.sessions));
  assert.equal(t.opened.size, new Set(group.flatMap((a) => a.sessions)).size, 'a SessionOpened for each session a client was told of');
  for (const [sessionId, opened] of t.opened) {
    const viaSecond = opened.payload.ingressInstance.startsWith(`ingress-postgres/${NAME}/`);
    assert.equal(viaSecond, sessionsViaSecond.has(sessionId), `session ${sessionId} was opened by ${opened.payload.ingressInstance}`);
  }
  const problems: string[] = [];
  const byValue = new Map<number, AuditEventOf<'RequestObserved'>[]>();
  for (const r of t.requests) {
    const value = statementValue(sqlOf(r));
    if (value === undefined) problems.push(`unexpected request ${r.payload.requestId}: ${sqlOf(r)}`);
    else byValue.set(value, [...(byValue.get(value) ?? []), r]);
    const verdicts = t.verdicts.get(r.payload.requestId) ?? [];
    if (verdicts.length !== 1) problems.push(`request ${r.payload.requestId} has ${verdicts.length} verdicts`);
    else if (verdicts[0]!.payload.decision !== 'allow' || verdicts[0]!.sessionId !== r.sessionId || verdicts[0]!.seq <= r.seq)
      problems.push(
        `request ${r.payload.requestId}: verdict ${verdicts[0]!.payload.decision} in ${verdicts[0]!.sessionId} at seq ${verdicts[0]!.seq}`,
      );
    const responses = t.responses.get(r.payload.requestId) ?? [];
    if (responses.length !== 1 || responses[0]!.payload.outcome !== 'ok')
      problems.push(`request ${r.payload.requestId} has ${responses.length} responses (${responses.map((x) => x.payload.outcome)})`);
  }
  for (const o of outcomes)
    if (byValue.get(o.value)?.length !== 1) problems.push(`value ${o.value}: ${byValue.get(o.value)?.length ?? 0} requests`);
  problems.push(...responsesWithoutAllow(t));
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} problems in the audit log`);
  assert.equal(t.requests.length, outcomes.length, 'one request per statement, and no other');

  // The target ran each statement once.
  const values = outcomes.map((o) => o.value);
  assert.deepEqual(targetMismatch(values, values), { unexpected: [], missing: [] });
});

test('kill -9 of a processor mid-run: statements wait or fail with the verdict timeout, then proceed; none runs without an allow verdict', async (ctx) => {
  const p2 = processor2!;
  const group = agents('two', 12);
  const from = await topicEnds(admin, [topics.ingress, topics.verdicts]);
  for (const a of group) await a.open();
  const outcomes: Outcome[] = [];
  let stop = false;
  const loops = group.map(async (a) => {
    while (!stop) {
      const o = await a.run(nextValue++);
      outcomes.push(o);
      if (o.message?.startsWith('connect:')) await sleep(200);
    }
    await a.close();
  });
  try {
    // Before the kill: the second processor is deciding part of this run.
    const p2Start = metricValue(await p2.metrics(), VERDICTS_TOTAL);
    await until(
      async () => outcomes.filter((o) => o.ok).length >= 48 && metricValue(await p2.metrics(), VERDICTS_TOTAL) > p2Start,
      45_000,
      () => `before the kill: ${outcomes.filter((o) => o.ok).length} statements succeeded, the second processor decided none of them`,
    );
    const membersBefore = (await processorGroup()).members;
    const killedAt = Date.now();
    p2.kill('SIGKILL');
    const failedSince = (): Outcome[] => outcomes.filter((o) => !o.ok && o.startedAt >= killedAt);
    // Its sessions' statements get no verdict until the group notices (session timeout 10 s)
    // and hands its partitions to the other processor; the ingress gives up after 4 s.
    await until(
      () => failedSince().length > 0,
      30_000,
      () => 'no statement failed after the kill: the killed processor owned no partition any client used',
    );
    // The group notices the dead member and gives its partitions to the others.
    let seen = { state: '', members: 0 };
    await until(
      async () => {
        seen = await processorGroup();
        return seen.state === 'Stable' && seen.members === membersBefore - 1;
      },
      45_000,
      () =>
        `the processors' group did not rebalance without the killed member (${membersBefore} members before; now ${JSON.stringify(seen)})`,
    );
    const rebalancedAt = Date.now();
    ctx.diagnostic(`the processors' group rebalanced without the killed member ${rebalancedAt - killedAt} ms after the kill`);
    // Afterwards every client proceeds: five successes each, begun after the rebalance and the last failure.
    await until(
      () => {
        const since = Math.max(rebalancedAt, ...outcomes.filter((o) => !o.ok).map((o) => o.startedAt));
        return group.every((a) => outcomes.filter((o) => o.agent === a.label && o.ok && o.startedAt > since).length >= 5);
      },
      45_000,
      () =>
        `after the kill, not every client proceeds again: ${group
          .filter((a) => a.streak < 5)
          .map((a) => `${a.label} (streak ${a.streak})`)
          .join(', ')}`,
    );
  } finally {
    stop = true;
    await Promise.all(loops);
  }

  // Each statement succeeded with its answer or failed with the verdict timeout (08006).
  const unexpected = outcomes.filter((o) => !o.ok && !(o.sqlstate === '08006' && o.code === 'AG_ERR_VERDICT_TIMEOUT'));
  assert.deepEqual(unexpected.slice(0, 5), [], `${unexpected.length} statements failed otherwise`);
  const ok = outcomes.filter((o) => o.ok).map((o) => o.value);
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.value);
  ctx.diagnostic(
    `${ok.length} statements succeeded, ${failed.length} failed with the verdict timeout; ${retriedOpens} session opens retried in the file`,
  );
  assert.ok(failed.length > 0 && ok.length > 0);

  // The log: every response follows an allow verdict; every success was requested, allowed and
  // answered; no failed statement has a response.
  const t = trail(await auditOf(group, from));
  const problems = responsesWithoutAllow(t);
  const requestOf = new Map<number, AuditEventOf<'RequestObserved'>>();
  for (const r of t.requests) {
    const value = statementValue(sqlOf(r));
    if (value === undefined) problems.push(`unexpected request ${r.payload.requestId}: ${sqlOf(r)}`);
    else if (requestOf.has(value)) problems.push(`value ${value} was requested twice`);
    else requestOf.set(value, r);
  }
  for (const value of ok) {
    const r = requestOf.get(value);
    if (!r) problems.push(`value ${value} succeeded without a RequestObserved`);
    else if (!(t.verdicts.get(r.payload.requestId) ?? []).some((v) => v.payload.decision === 'allow'))
      problems.push(`value ${value} succeeded without an allow verdict`);
    else if ((t.responses.get(r.payload.requestId) ?? []).length !== 1) problems.push(`value ${value} has no single ResponseObserved`);
  }
  for (const value of failed) {
    const r = requestOf.get(value);
    if (r && (t.responses.get(r.payload.requestId) ?? []).length > 0) problems.push(`value ${value} failed, yet has a ResponseObserved`);
  }
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} problems in the audit log`);

  // The target ran exactly the statements that succeeded, each once, and none that failed.
  assert.deepEqual(targetMismatch([...ok, ...failed], ok), { unexpected: [], missing: [] });
});
