// Policy as code, end to end: an administrator publishes policy versions with the CLI and the
// running processor decides with each as soon as it reads it (no restart); a shadow policy's
// verdicts land in ClickHouse beside the live ones and are never enforced; `policy replay`
// re-decides the recorded run with a candidate and reports exactly what the live run refused.
// Every version here is published under one policy name (the rules of deploy/policies/permissive,
// plus what each test needs); the `after` hook withdraws that name, live and shadow (tombstones),
// so the processor returns to the policy it had before this file, whichever that was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { quoteString } from '@agentgate/clickhouse';
import { policyKey, topicNames } from '@agentgate/events';
import {
  ROOT,
  clickhouse,
  countsReaching,
  eventually,
  kafkaAs,
  pgConfig,
  stack,
  stackCommand,
  token,
  uniqueMarker,
} from '../support/stack.js';
import { sessionIdFor } from '../support/audit.js';

const { Kafka, logLevel } = kafkajs;
const topics = topicNames(process.env['AG_TOPIC_PREFIX'] ?? 'agentgate');
const BIN = join(ROOT, 'services/cli/bin/agentgate.js');
const PROCESSOR = `http://127.0.0.1:${process.env['AG_POLICY_PROCESSOR_ADMIN_PORT'] ?? 15481}`;
const PERMISSIVE = join(ROOT, 'deploy/policies/permissive');
const POLICY = 'e2e-publish';
const db = stack.clickhouseDatabase;
const ch = clickhouse();
const work = mkdtempSync(join(tmpdir(), 'agentgate-policy-'));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function agentgate(args: string[], tokenValue?: string): Run {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['AGENTGATE_TOKEN'];
  if (tokenValue !== undefined) env['AGENTGATE_TOKEN'] = tokenValue;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The permissive rules under another name, plus `extra` rules and tests (YAML, indented as list items). */
function policyDir(name: string, extraRules = '', extraTests = ''): string {
  const base = readFileSync(join(PERMISSIVE, 'policy.yaml'), 'utf8').replace(/^policy: permissive$/m, `policy: ${POLICY}`);
  const [rules, tests] = base.split(/^tests:$/m) as [string, string];
  const dir = join(work, name);
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'policy.yaml'), `${rules.trimEnd()}\n${extraRules}\ntests:${tests.trimEnd()}\n${extraTests}`);
  return dir;
}

// Stricter: nobody reads public.customers any more.
const STRICT_RULE = `
  - id: deny-customers
    description: public.customers is closed for this test
    message: public.customers is closed
    match: { sql: { touches: [public.customers] } }
    action: deny
`;
const STRICT_TEST = `  - name: customers are closed
    identity: { subject: demo-agent, groups: [agents] }
    connection: demo
    sql: select count(*) from public.customers
    expect: { decision: deny, rule: deny-customers }
`;

/** Publishes `dir` as erin (the local administrator); returns the version. */
function publish(dir: string, shadow = false): string {
  const r = agentgate(['policy', 'publish', dir, '--json', ...(shadow ? ['--shadow'] : [])], token('erin'));
  assert.equal(r.status, 0, `publish ${dir}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { published: boolean; version: string; shadow: boolean; published_by: string };
  assert.equal(doc.published, true);
  assert.equal(doc.shadow, shadow);
  assert.equal(doc.published_by, 'erin');
  return doc.version;
}

/** The versions the processor decides with now, from its /metrics. */
async function processorPolicies(): Promise<{ live: string | undefined; shadow: string | undefined; verdicts: number }> {
  const text = await (await fetch(`${PROCESSOR}/metrics`)).text();
  const info = [...text.matchAll(/^agentgate_policy_info\{[^}]*version="([^"]+)",shadow="(true|false)"\} 1$/gm)];
  return {
    live: info.find((m) => m[2] === 'false')?.[1],
    shadow: info.find((m) => m[2] === 'true')?.[1],
    verdicts: Number(/^agentgate_policy_verdicts_total (\d+)$/m.exec(text)?.[1] ?? Number.NaN),
  };
}

async function waitForPolicies(live: string, shadow: string | undefined): Promise<void> {
  await eventually(async () => {
    const p = await processorPolicies();
    return p.live === live && p.shadow === shadow ? true : undefined;
  }, 20_000);
}

/** Withdraws POLICY's live publication or its shadow trial: a tombstone on its key, written as the operator. */
async function withdraw(shadow: boolean): Promise<void> {
  const producer = new Kafka({ clientId: 'e2e-operator', ...kafkaAs('operator'), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({ topic: topics.policies, acks: -1, messages: [{ key: policyKey(POLICY, shadow), value: null }] });
  } finally {
    await producer.disconnect();
  }
}

const STATEMENTS = [
  { sql: 'select count(*) from public.customers', strict: 'deny' },
  { sql: 'select 1 as one', strict: 'allow' },
  { sql: 'select c.id from public.customers c limit 1', strict: 'deny' },
  { sql: 'select now()', strict: 'allow' },
] as const;

interface Outcome {
  sql: string;
  ok: boolean;
  code?: string;
  message?: string;
  detail?: string;
}

/** Runs every statement once in a fresh session (marked by its application_name); returns what each got. */
async function runStatements(phase: string): Promise<{ sessionId: string; outcomes: Outcome[] }> {
  const app = uniqueMarker(`e2e-policy-${phase}`);
  const client = new pg.Client(pgConfig({ applicationName: app }));
  await client.connect();
  const outcomes: Outcome[] = [];
  try {
    for (const { sql } of STATEMENTS) {
      try {
        await client.query(sql);
        outcomes.push({ sql, ok: true });
      } catch (err) {
        const e = err as { code?: string; message: string; detail?: string };
        outcomes.push({
          sql,
          ok: false,
          ...(e.code ? { code: e.code } : {}),
          message: e.message,
          ...(e.detail ? { detail: e.detail } : {}),
        });
      }
    }
  } finally {
    await client.end();
  }
  const sessionId = await eventually(() => sessionIdFor(ch, db, app), 10_000);
  return { sessionId, outcomes };
}

interface VerdictRow {
  request_id: string;
  decision: string;
  rule_id: string;
  policy_version: string;
  shadow: number;
  sql_text: string;
}

/** Verdicts of a session with their requests' SQL, live and shadow. */
async function verdictsOf(sessionId: string): Promise<VerdictRow[]> {
  const rows = async <T>(query: string): Promise<T[]> => (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
  const where = `session_id = ${quoteString(sessionId)}`;
  const sql = new Map(
    (
      await rows<{ request_id: string; sql_text: string }>(
        `SELECT request_id, sql_text FROM ${db}.events WHERE ${where} AND event_type = 'RequestObserved'`,
      )
    ).map((r) => [r.request_id, r.sql_text]),
  );
  const verdicts = await rows<Omit<VerdictRow, 'sql_text'>>(
    `SELECT request_id, decision, rule_id, policy_version, shadow FROM ${db}.events WHERE ${where} AND event_type = 'VerdictIssued'`,
  );
  return verdicts.map((v) => ({ ...v, shadow: Number(v.shadow), sql_text: sql.get(v.request_id) ?? '' }));
}

async function countVerdicts(sessionId: string): Promise<{ live: number; shadow: number }> {
  const rows = await verdictsOf(sessionId);
  return { live: rows.filter((r) => r.shadow === 0).length, shadow: rows.filter((r) => r.shadow === 1).length };
}

let initial: { live: string | undefined; shadow: string | undefined };
let permissiveDir: string;
let strictDir: string;
let baseVersion: string;
let strictVersion: string;
const phases: { name: string; sinceUs: number; untilUs: number; sessionId: string; outcomes: Outcome[] }[] = [];

before(async () => {
  initial = await processorPolicies();
  permissiveDir = policyDir('base');
  strictDir = policyDir('strict', STRICT_RULE, STRICT_TEST);
});

after(async () => {
  // Leave the processor as the rest of the suite found it: this file's policy withdrawn, live and shadow.
  try {
    await withdraw(true);
    await withdraw(false);
    assert.ok(initial.live);
    await waitForPolicies(initial.live, initial.shadow);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await ch.close();
  }
});

test('only the operator principal may write the policies topic', async () => {
  for (const principal of ['ingress-postgres', 'policy-processor', 'projector']) {
    const producer = new Kafka({
      clientId: 'e2e-forger',
      ...kafkaAs(principal),
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).producer();
    const outcome = await producer
      .connect()
      .then(() => producer.send({ topic: topics.policies, acks: -1, timeout: 3000, messages: [{ key: POLICY, value: 'not a policy' }] }))
      .then(
        () => 'written',
        (err: Error) => err.message,
      )
      .finally(() => producer.disconnect().catch(() => {}));
    assert.match(outcome, /authoriz/i, principal);
  }
});

test('publish refuses a non-administrator and a policy whose tests fail, and nothing changes', async () => {
  const before = await processorPolicies();
  const notAdmin = agentgate(['policy', 'publish', permissiveDir], token('demo-agent'));
  assert.equal(notAdmin.status, 1);
  assert.match(notAdmin.stderr, /AG_ERR_POLICY_DENIED/);
  // Compiles, but its own test expects what its rules do not do.
  const failing = policyDir('failing', '', STRICT_TEST.replace('rule: deny-customers', 'rule: deny-drop'));
  const r = agentgate(['policy', 'publish', failing], token('erin'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /FAIL {2}customers are closed \(policy\.yaml:\d+\): expected deny by deny-drop, got allow by allow-sql/);
  assert.match(r.stderr, /1 of 8 policy tests failed/);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal((await processorPolicies()).live, before.live);
});

test('a statement allowed, then a stricter version published, then the same statement refused naming the new version and rule, without a restart', async () => {
  baseVersion = publish(permissiveDir);
  await waitForPolicies(baseVersion, undefined);
  const started = await processorPolicies();

  let sinceUs = Date.now() * 1000;
  const allowed = await runStatements('base');
  phases.push({ name: 'base', sinceUs, untilUs: Date.now() * 1000, ...allowed });
  assert.deepEqual(
    allowed.outcomes.map((o) => o.ok),
    STATEMENTS.map(() => true),
    JSON.stringify(allowed.outcomes),
  );

  strictVersion = publish(strictDir);
  assert.notEqual(strictVersion, baseVersion);
  await waitForPolicies(strictVersion, undefined);

  sinceUs = Date.now() * 1000;
  const strict = await runStatements('strict');
  phases.push({ name: 'strict', sinceUs, untilUs: Date.now() * 1000, ...strict });
  for (const [i, { sql, strict: expected }] of STATEMENTS.entries()) {
    const got = strict.outcomes[i]!;
    if (expected === 'allow') {
      assert.equal(got.ok, true, `${sql}: ${got.message}`);
    } else {
      assert.equal(got.code, '42501', `${sql}: ${JSON.stringify(got)}`);
      assert.match(got.message ?? '', /refused by policy rule deny-customers/);
      assert.match(got.detail ?? '', new RegExp(`rule=deny-customers; policy=${strictVersion.replace('.', '\\.')}`));
    }
  }
  // The processor that decided both is the one that was running: its verdict counter only grew.
  const now = await processorPolicies();
  assert.ok(now.verdicts >= started.verdicts + 2 * STATEMENTS.length, `verdicts ${started.verdicts} -> ${now.verdicts}`);

  // The audit log names each version on the verdicts it decided.
  for (const phase of phases) {
    const expectedVersion = phase.name === 'base' ? baseVersion : strictVersion;
    const counts = await countsReaching(() => countVerdicts(phase.sessionId), { live: STATEMENTS.length, shadow: 0 }, 15_000);
    assert.deepEqual(counts, { live: STATEMENTS.length, shadow: 0 });
    for (const v of await verdictsOf(phase.sessionId)) assert.equal(v.policy_version, expectedVersion, v.sql_text);
  }
});

test('a shadow policy records its verdicts beside the live ones and refuses nothing', async () => {
  assert.ok(strictVersion, 'runs after the publish test');
  const live = publish(permissiveDir);
  const shadow = publish(strictDir, true);
  await waitForPolicies(live, shadow);

  const sinceUs = Date.now() * 1000;
  const run = await runStatements('shadow');
  phases.push({ name: 'shadow', sinceUs, untilUs: Date.now() * 1000, ...run });
  assert.deepEqual(
    run.outcomes.map((o) => o.ok),
    STATEMENTS.map(() => true),
    `nothing the shadow policy denies is refused: ${JSON.stringify(run.outcomes)}`,
  );

  const counts = await countsReaching(() => countVerdicts(run.sessionId), { live: STATEMENTS.length, shadow: STATEMENTS.length }, 15_000);
  assert.deepEqual(counts, { live: STATEMENTS.length, shadow: STATEMENTS.length });
  const verdicts = await verdictsOf(run.sessionId);
  for (const { sql, strict: expected } of STATEMENTS) {
    const forSql = verdicts.filter((v) => v.sql_text === sql);
    const liveVerdict = forSql.find((v) => v.shadow === 0);
    const shadowVerdict = forSql.find((v) => v.shadow === 1);
    assert.ok(liveVerdict && shadowVerdict, sql);
    // Same request, queryable side by side.
    assert.equal(shadowVerdict.request_id, liveVerdict.request_id);
    assert.equal(liveVerdict.decision, 'allow');
    assert.equal(liveVerdict.policy_version, live);
    assert.equal(shadowVerdict.decision, expected, sql);
    assert.equal(shadowVerdict.policy_version, shadow);
    if (expected === 'deny') assert.equal(shadowVerdict.rule_id, 'deny-customers');
  }
  // The session's chain still verifies: shadow verdicts are beside it, not in it.
  const verify = agentgate(['verify-chain', '--session', run.sessionId, '--json']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  // And the session list counts live denials only.
  const sessions = JSON.parse(agentgate(['sessions', '--limit', '50', '--json']).stdout) as {
    sessions: { session_id: string; denied: number }[];
  };
  assert.equal(sessions.sessions.find((s) => s.session_id === run.sessionId)?.denied, 0);

  await withdraw(true);
  await waitForPolicies(live, undefined);
});

test('policy replay reports exactly the statements the stricter policy refused live', async () => {
  const base = phases.find((p) => p.name === 'base');
  const strict = phases.find((p) => p.name === 'strict');
  assert.ok(base && strict, 'runs after the publish test');
  // What the live run refused under the strict version, by statement.
  const refusedLive = new Set(strict.outcomes.filter((o) => !o.ok).map((o) => o.sql));
  assert.equal(refusedLive.size, STATEMENTS.filter((s) => s.strict === 'deny').length);
  await countsReaching(() => countVerdicts(base.sessionId), { live: STATEMENTS.length, shadow: 0 }, 15_000);

  const window = ['--since', new Date(base.sinceUs / 1000 - 1).toISOString(), '--until', new Date(base.untilUs / 1000 + 1).toISOString()];
  const r = agentgate(['policy', 'replay', '--policy', strictDir, ...window, '--examples', '100', '--json']);
  assert.equal(r.status, 1, `exit 1: decisions would change\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as {
    candidate: string;
    requests: number;
    changed: number;
    changes: { from: string; to: string; count: number; examples: { session_id: string; sql: string }[] }[];
    limits: string[];
  };
  assert.equal(report.candidate, strictVersion);
  const mine = report.changes.flatMap((c) =>
    c.examples.filter((e) => e.session_id === base.sessionId).map((e) => ({ ...e, from: c.from, to: c.to })),
  );
  assert.deepEqual(new Set(mine.map((e) => e.sql)), refusedLive);
  for (const e of mine) assert.deepEqual([e.from, e.to], ['allow/allow-sql', 'deny/deny-customers']);
  if (report.requests === STATEMENTS.length) assert.equal(report.changed, refusedLive.size, 'nobody else used the stack meanwhile');
  assert.ok(
    report.limits.some((l) => /guardrail/.test(l)),
    'says what replay cannot reproduce',
  );

  // The version that decided live changes nothing: exit 0.
  const same = agentgate(['policy', 'replay', '--policy', permissiveDir, ...window, '--json']);
  assert.equal(same.status, 0, same.stdout + same.stderr);
  if (report.requests === STATEMENTS.length) assert.equal((JSON.parse(same.stdout) as { changed: number }).changed, 0);
});

test('guardrails: an agent past its statement budget is refused naming the rule, and the count survives processor and ingress restarts', async () => {
  // report-agent's statements already in the window count too: the budget leaves room for 3 more.
  const windowSec = 120;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const [prior] = await (
    await ch.query({
      query: `SELECT count() AS n FROM ${db}.events WHERE event_type = 'RequestObserved' AND actor = 'report-agent'
                AND time_us > ${(Date.now() - windowSec * 1000) * 1000}`,
      format: 'JSONEachRow',
    })
  ).json<{ n: string }>();
  const budget = Number(prior?.n ?? 0) + 3;
  const dir = policyDir(
    'budget',
    `
  - id: e2e-report-budget
    description: report-agent may run ${budget} statements on demo in ${windowSec} s
    message: statement budget spent
    kind: budget
    match: { identity: { actingAgent: [report-agent] }, connection: [demo] }
    per: actor
    window: ${windowSec}s
    limits: { statements: ${budget} }
    action: deny
`,
  );
  const version = publish(dir);
  await waitForPolicies(version, undefined);

  const statement = async (): Promise<{ ok: boolean; code?: string; message?: string; detail?: string }> => {
    const client = new pg.Client(
      pgConfig({ applicationName: uniqueMarker('e2e-budget'), user: 'report-agent', password: token('report-agent') }),
    );
    await client.connect();
    try {
      await client.query('select 1 as budgeted');
      return { ok: true };
    } catch (err) {
      const e = err as { code?: string; message: string; detail?: string };
      return { ok: false, ...(e.code ? { code: e.code } : {}), message: e.message, ...(e.detail ? { detail: e.detail } : {}) };
    } finally {
      await client.end().catch(() => {});
    }
  };
  // One session holds its statements; a fresh one per statement shows the count is per identity.
  for (let i = 0; i < 3; i++) assert.deepEqual(await statement(), { ok: true }, `statement ${i + 1} of ${budget}`);
  const over = await statement();
  assert.equal(over.code, '42501', JSON.stringify(over));
  assert.match(over.message ?? '', /refused by policy rule e2e-report-budget/);
  assert.match(over.detail ?? '', new RegExp(`rule=e2e-report-budget; policy=${version}`));

  // The counts come from the log: restarting the processor (which holds them) and the ingress changes nothing.
  stackCommand('stop', 'policy-processor');
  stackCommand('stop', 'ingress-postgres');
  stackCommand('start', 'policy-processor');
  stackCommand('start', 'ingress-postgres');
  await waitForPolicies(version, undefined);
  const after = await statement();
  assert.equal(after.code, '42501', `after restarts: ${JSON.stringify(after)}`);
  assert.match(after.detail ?? '', /rule=e2e-report-budget/);
});
