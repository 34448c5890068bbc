// The audit trail as security teams use it (issue 15), end to end on the running stack:
//   - one agent session with a masked SELECT, a denied statement and an approved DELETE, replayed
//     by `agentgate replay` and by the audit API, in order and with masked values only;
//   - the audit API's search, including injection payloads;
//   - a signed checkpoint from the checkpoint service, then `agentgate verify` on a copy of the
//     log: clean before, and each of six tamperings named by session and sequence number after,
//     online and offline from an export file with no stack behind it;
//   - the PDF compliance report, rasterised (pages not blank) and read back (its counts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, generateKeyPairSync, randomInt } from 'node:crypto';
import pg from 'pg';
import { quoteString } from '@agentgate/clickhouse';
import { sessionIdFor } from '../support/audit.js';
import { ROOT, clickhouse, eventually, pgConfig, stack, token, uniqueMarker } from '../support/stack.js';

const BIN = join(ROOT, 'services/cli/bin/agentgate.js');
const APPROVALS = `http://127.0.0.1:${process.env['AG_APPROVAL_SERVICE_PORT'] ?? 18080}`;
const AUDIT_API = `http://127.0.0.1:${process.env['AG_AUDIT_API_PORT'] ?? 18082}`;
const CHECKPOINTER_ADMIN = `http://127.0.0.1:${process.env['AG_CHECKPOINTER_ADMIN_PORT'] ?? 15485}`;
const JANE_CARD = '4111111111111111';
const ch = clickhouse();
const work = mkdtempSync(join(tmpdir(), 'agentgate-audit-trail-'));
const startedAt = new Date(Date.now() - 1000).toISOString();
const scratch = `agentgate_trail_${process.pid}`;
const clients: pg.Client[] = [];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function agentgate(args: string[], extraEnv: Record<string, string> = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env['AGENTGATE_TOKEN'];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI reading the scratch copy as ClickHouse's administrator (reader may read agentgate only). */
const onScratch = {
  AG_CLICKHOUSE_DATABASE: scratch,
  AG_CLI_CLICKHOUSE_USER: 'default',
  AG_CLI_CLICKHOUSE_PASSWORD_FILE: join(stack.secretsDir, 'clickhouse-admin.password'),
};

async function agent(app: string): Promise<pg.Client> {
  const c = new pg.Client(pgConfig({ applicationName: app }));
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

async function rows<T>(sql: string): Promise<T[]> {
  return (await ch.query({ query: sql, format: 'JSONEachRow' })).json<T>();
}

async function waitForMutations(database: string): Promise<void> {
  await eventually(async () => {
    const [r] = await rows<{ n: string }>(
      `SELECT count() AS n FROM system.mutations WHERE database = ${quoteString(database)} AND is_done = 0`,
    );
    return Number(r?.n) === 0 ? true : undefined;
  }, 60_000);
}

interface Finding {
  kind: string;
  sessionId: string;
  seq?: number;
  column?: string;
}
interface Verification {
  ok: boolean;
  findings: Finding[];
  sessionsChecked: number;
  checkpoints: { valid: boolean }[];
}

let trailSession = '';
let trailApp = '';
let deleteId = 0;

before(async () => {
  // The session the replay shows: masked SELECT, denied UPDATE, DELETE approved by alice.
  trailApp = uniqueMarker('e2e_trail');
  const c = await agent(trailApp);
  const selected = await c.query<{ card_number: string }>('SELECT card_number FROM public.customers WHERE id = 5001');
  assert.notEqual(selected.rows[0]?.card_number, JANE_CARD);
  await assert.rejects(c.query('UPDATE public.orders SET status = status'));
  deleteId = 900_000_000 + randomInt(99_999_999);
  const running = c.query(`DELETE FROM public.orders WHERE id = ${deleteId}`);
  const approval = await eventually(async () => {
    const r = await fetch(`${APPROVALS}/v1/approvals?status=pending`, { headers: { authorization: `Bearer ${token('alice')}` } });
    const list = ((await r.json()) as { approvals?: { id: string; text: string }[] }).approvals ?? [];
    return list.find((a) => a.text.includes(String(deleteId)));
  }, 15_000);
  const decided = await fetch(`${APPROVALS}/v1/approvals/${approval.id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token('alice')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ comment: 'e2e audit trail' }),
  });
  assert.equal(decided.status, 200);
  assert.equal(((await running) as pg.QueryResult).command, 'DELETE');
  await c.end();
  trailSession = await eventually(() => sessionIdFor(ch, stack.clickhouseDatabase, trailApp), 15_000);
  // Until the session's close and its response events are all projected.
  await eventually(async () => {
    const [r] = await rows<{ closed: string; responses: string }>(
      `SELECT countIf(event_type = 'SessionClosed') AS closed, countIf(event_type = 'ResponseObserved') AS responses FROM events WHERE session_id = ${quoteString(trailSession)}`,
    );
    return Number(r?.closed) === 1 && Number(r?.responses) >= 2 ? true : undefined;
  }, 30_000);
});

after(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await ch.command({ query: `DROP DATABASE IF EXISTS ${scratch}` });
  await ch.close();
});

interface TranscriptJson {
  sessionId: string;
  requests: {
    text: string;
    verdict: { decision: string } | null;
    approval: { outcome: string | null; decidedBy: string[] } | null;
    response: { outcome: string; sampleRows: (string | null)[][]; masking: { key: string; count: number }[] } | null;
  }[];
}

function assertTrail(t: TranscriptJson): void {
  assert.equal(t.sessionId, trailSession);
  const [select, update, del] = t.requests;
  assert.equal(t.requests.length, 3, JSON.stringify(t.requests.map((r) => r.text)));
  assert.match(select?.text ?? '', /^SELECT card_number FROM public\.customers/);
  assert.equal(select?.verdict?.decision, 'allow');
  assert.ok(
    (select?.response?.masking ?? []).some((m) => m.count > 0),
    'the SELECT records what masking hid',
  );
  assert.match(update?.text ?? '', /^UPDATE public\.orders/);
  assert.equal(update?.verdict?.decision, 'deny');
  assert.match(del?.text ?? '', /^DELETE FROM public\.orders/);
  assert.equal(del?.approval?.outcome, 'approved');
  assert.deepEqual(del?.approval?.decidedBy, ['alice']);
  assert.equal(del?.response?.outcome, 'ok');
  assert.ok(!JSON.stringify(t).includes(JANE_CARD), 'the transcript holds masked values only');
}

test('agentgate replay shows the masked SELECT, the denied UPDATE and the approved DELETE in order, masked only', () => {
  const json = agentgate(['replay', trailSession, '--json']);
  assert.equal(json.status, 0, json.stderr);
  assertTrail(JSON.parse(json.stdout) as TranscriptJson);
  const text = agentgate(['replay', trailSession]);
  assert.equal(text.status, 0, text.stderr);
  const order = ['SELECT card_number', 'UPDATE public.orders', 'DELETE FROM public.orders'].map((s) => text.stdout.indexOf(s));
  assert.ok(
    order.every((i, n) => i >= 0 && (n === 0 || i > (order[n - 1] ?? 0))),
    text.stdout,
  );
  assert.ok(!text.stdout.includes(JANE_CARD));
});

test('the audit API: replay for an auditor, refused without the group, search finds the trail and takes injection payloads', async () => {
  const auth = (who: string) => ({ authorization: `Bearer ${token(who)}` });
  const replay = await fetch(`${AUDIT_API}/v1/sessions/${encodeURIComponent(trailSession)}/replay`, { headers: auth('bob') });
  assert.equal(replay.status, 200);
  assertTrail((await replay.json()) as TranscriptJson);
  const refused = await fetch(`${AUDIT_API}/v1/requests`, { headers: auth('demo-agent') });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { code: string }).code, 'AG_ERR_FORBIDDEN');
  const found = await fetch(`${AUDIT_API}/v1/requests?${new URLSearchParams({ identity: 'demo-agent', text: String(deleteId) })}`, {
    headers: auth('bob'),
  });
  assert.equal(found.status, 200);
  const results = ((await found.json()) as { requests: { sessionId: string; verdict: { decision: string } | null }[] }).requests;
  assert.deepEqual(
    results.map((r) => [r.sessionId, r.verdict?.decision]),
    [[trailSession, 'allow']],
  );
  for (const payload of [
    "'); DROP TABLE agentgate.events; --",
    "\\' OR 1=1 --",
    '%s%n{0}$' + '{x}',
    'a\u0000b',
    "' UNION SELECT * FROM system.users --",
  ]) {
    for (const field of ['identity', 'connection', 'text']) {
      const r = await fetch(`${AUDIT_API}/v1/requests?${new URLSearchParams({ [field]: payload })}`, { headers: auth('bob') });
      assert.equal(r.status, 200, `${field}=${JSON.stringify(payload)}: ${r.status}`);
      assert.deepEqual(((await r.json()) as { requests: unknown[] }).requests, [], `${field}=${JSON.stringify(payload)}`);
    }
  }
  // The API verifies like the CLI: the trail's session is checked and nothing is wrong with it.
  const verified = await fetch(`${AUDIT_API}/v1/verify?${new URLSearchParams({ since: startedAt })}`, { headers: auth('bob') });
  assert.equal(verified.status, 200);
  const report = (await verified.json()) as Verification & { eventsChecked: number };
  assert.ok(report.eventsChecked > 0);
  assert.deepEqual(
    report.findings.filter((f) => f.sessionId === trailSession && f.kind !== 'uncovered'),
    [],
  );
  const [events] = await rows<{ n: string }>('SELECT count() AS n FROM events');
  assert.ok(Number(events?.n) > 0, 'the events table is still there');
});

test('a signed checkpoint covers the sessions; verify is clean, then names each of six tamperings, online and offline', async () => {
  // Six sessions to tamper with, each with three statements.
  const apps = Array.from({ length: 6 }, (_, i) => uniqueMarker(`e2e_tamper_${i}`));
  for (const app of apps) {
    const c = await agent(app);
    for (const n of [1, 2, 3]) await c.query(`SELECT ${n} AS n`);
    await c.end();
  }
  const sessions = await Promise.all(apps.map((app) => eventually(() => sessionIdFor(ch, stack.clickhouseDatabase, app), 15_000)));
  await eventually(async () => {
    const [r] = await rows<{ n: string }>(
      `SELECT count() AS n FROM events WHERE event_type = 'SessionClosed' AND session_id IN (${sessions.map(quoteString).join(', ')})`,
    );
    return Number(r?.n) === sessions.length ? true : undefined;
  }, 30_000);
  // A checkpoint now, signed over every head the checkpointer has read, and projected.
  const signed = await fetch(`${CHECKPOINTER_ADMIN}/checkpoint`, { method: 'POST' });
  assert.equal(signed.status, 200);
  const checkpoint = (await signed.json()) as { seq: number; heads: { sessionId: string }[] };
  for (const s of sessions)
    assert.ok(
      checkpoint.heads.some((h) => h.sessionId === s),
      `the checkpoint signs the head of ${s}`,
    );
  await eventually(async () => {
    const [r] = await rows<{ n: string }>(
      `SELECT count() AS n FROM events WHERE event_type = 'CheckpointSigned' AND seq = ${checkpoint.seq}`,
    );
    return Number(r?.n) >= 1 ? true : undefined;
  }, 30_000);

  // Tamper with a copy, never with the log the rest of the suite reads.
  await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${scratch}` });
  await ch.command({ query: `CREATE TABLE ${scratch}.events AS ${stack.clickhouseDatabase}.events` });
  await ch.command({ query: `INSERT INTO ${scratch}.events SELECT * FROM ${stack.clickhouseDatabase}.events` });

  const clean = agentgate(['verify', '--since', startedAt, '--json'], onScratch);
  assert.equal(clean.status, 0, clean.stderr + clean.stdout.slice(0, 2000));
  const cleanReport = JSON.parse(clean.stdout) as Verification;
  assert.ok(cleanReport.ok && cleanReport.sessionsChecked >= 7);
  assert.ok(cleanReport.checkpoints.length > 0 && cleanReport.checkpoints.every((c) => c.valid));
  const cleanExport = join(work, 'clean.jsonl');
  const exported = agentgate(['export', '--since', startedAt, '--out', cleanExport], onScratch);
  assert.equal(exported.status, 0, exported.stderr);

  const [changed, deleted, truncated, swapped, edited, removed] = sessions as [string, string, string, string, string, string];
  const table = `${scratch}.events`;
  const at = (s: string, where: string) => `session_id = ${quoteString(s)} AND ${where}`;
  // 1. One byte of one stored event.
  await ch.command({
    query: `ALTER TABLE ${table} UPDATE canonical_text = concat(substring(canonical_text, 1, 20), 'X', substring(canonical_text, 22)) WHERE ${at(changed, 'seq = 2')}`,
  });
  // 2. One event deleted.
  await ch.command({ query: `ALTER TABLE ${table} DELETE WHERE ${at(deleted, 'seq = 3')}` });
  // 3. The session's last two events cut off.
  const [last] = await rows<{ m: string }>(`SELECT max(seq) AS m FROM ${table} WHERE session_id = ${quoteString(truncated)}`);
  const lastSeq = Number(last?.m);
  await ch.command({ query: `ALTER TABLE ${table} DELETE WHERE ${at(truncated, `seq >= ${lastSeq - 1}`)}` });
  // 5. One sql_text cell edited.
  await ch.command({
    query: `ALTER TABLE ${table} UPDATE sql_text = 'SELECT 42' WHERE ${at(edited, "event_type = 'RequestObserved' AND seq = 1")}`,
  });
  // 6. A whole session deleted.
  await ch.command({ query: `ALTER TABLE ${table} DELETE WHERE session_id = ${quoteString(removed)}` });
  await waitForMutations(scratch);
  // 4. Two events swapped: each row put where the other was (seq is part of the sort key, so delete and reinsert).
  const pair = await rows<Record<string, unknown>>(`SELECT * FROM ${table} WHERE ${at(swapped, 'seq IN (1, 2)')} ORDER BY seq`);
  assert.equal(pair.length, 2);
  await ch.command({ query: `ALTER TABLE ${table} DELETE WHERE ${at(swapped, 'seq IN (1, 2)')}` });
  await waitForMutations(scratch);
  await ch.insert({
    table,
    values: [
      { ...pair[0], seq: 2 },
      { ...pair[1], seq: 1 },
    ],
    format: 'JSONEachRow',
  });

  const expected: [string, string, (f: Finding) => boolean][] = [
    ['one changed byte', 'changed', (f) => f.sessionId === changed && f.seq === 2],
    ['one deleted event', 'missing', (f) => f.sessionId === deleted && f.seq === 3],
    ['the last two events cut off', 'truncated', (f) => f.sessionId === truncated && f.seq === lastSeq - 1],
    ['two swapped events', 'reordered', (f) => f.sessionId === swapped && (f.seq === 1 || f.seq === 2)],
    ['an edited sql_text cell', 'column-mismatch', (f) => f.sessionId === edited && f.seq === 1 && f.column === 'sql_text'],
    ['a deleted session', 'missing-session', (f) => f.sessionId === removed],
  ];
  const check = (report: Verification, how: string): void => {
    assert.equal(report.ok, false, how);
    for (const [what, kind, match] of expected) {
      assert.ok(
        report.findings.some((f) => f.kind === kind && match(f)),
        `${how}: ${what} is named as ${kind}; findings: ${JSON.stringify(report.findings.filter((f) => f.kind !== 'uncovered'))}`,
      );
    }
    // Nothing else of the copy is reported.
    const tampered = new Set(sessions);
    assert.deepEqual(
      report.findings.filter((f) => f.kind !== 'uncovered' && !tampered.has(f.sessionId)),
      [],
      `${how}: only the tampered sessions`,
    );
  };
  const online = agentgate(['verify', '--since', startedAt, '--json'], onScratch);
  assert.equal(online.status, 1, online.stderr);
  check(JSON.parse(online.stdout) as Verification, 'online');
  const human = agentgate(['verify', '--since', startedAt], onScratch);
  assert.equal(human.status, 1);
  assert.match(human.stdout, new RegExp(`${truncated}`));

  // Offline: an export and the public keys, no ClickHouse behind it.
  const tamperedExport = join(work, 'tampered.jsonl');
  assert.equal(agentgate(['export', '--since', startedAt, '--out', tamperedExport], onScratch).status, 0);
  const noStack = { AG_CLICKHOUSE_URL: 'http://127.0.0.1:1', AG_KAFKA_BROKERS: '127.0.0.1:1' };
  const keys = process.env['AG_CHECKPOINT_KEYS_FILE'] ?? join(ROOT, '.stack/run/checkpoint-keys.json');
  const offlineClean = agentgate(['verify', '--file', cleanExport, '--keys', keys, '--json'], noStack);
  assert.equal(offlineClean.status, 0, offlineClean.stderr);
  const offline = agentgate(['verify', '--file', tamperedExport, '--keys', keys, '--json'], noStack);
  assert.equal(offline.status, 1, offline.stderr);
  check(JSON.parse(offline.stdout) as Verification, 'offline');
  // Keys the checkpoints were not signed with: every checkpoint fails, whatever the events say.
  const untrusted = join(work, 'other-keys.json');
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha256').update(der).digest('hex').slice(0, 32);
  writeFileSync(untrusted, JSON.stringify({ keys: [{ keyId, publicKey: der.toString('base64') }] }));
  const distrusted = agentgate(['verify', '--file', cleanExport, '--keys', untrusted, '--json'], noStack);
  assert.equal(distrusted.status, 1);
  assert.ok((JSON.parse(distrusted.stdout) as Verification).findings.some((f) => f.kind === 'bad-signature'));
});

test('the PDF report renders pages that are not blank, and its text holds the period counts', async () => {
  const out = join(work, 'report.pdf');
  const r = agentgate(['report', '--since', startedAt, '--format', 'pdf', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const pages = join(work, 'page');
  const raster = spawnSync('pdftoppm', ['-r', '50', '-gray', out, pages], { encoding: 'utf8' });
  assert.equal(raster.status, 0, raster.stderr);
  const images = readdirSync(work).filter((f) => f.startsWith('page') && f.endsWith('.pgm'));
  assert.ok(images.length >= 1);
  for (const image of images) assert.ok(inkShare(readFileSync(join(work, image))) > 0.01, `${image} is blank`);
  const text = spawnSync('pdftotext', ['-layout', out, '-'], { encoding: 'utf8' }).stdout;
  // The counts of the period, as ClickHouse has them.
  const [denied] = await rows<{ n: string }>(
    `SELECT count() AS n FROM events WHERE event_type = 'VerdictIssued' AND shadow = 0 AND decision = 'deny' AND time_us >= ${Date.parse(startedAt) * 1000}`,
  );
  assert.ok(Number(denied?.n) >= 1);
  assert.match(text, new RegExp(`denied attempts\\s+${denied?.n}\\b`, 'i'), text.slice(0, 3000));
  assert.match(text, /UPDATE public\.orders/);
  assert.match(text, /alice/);
  assert.ok(!text.includes(JANE_CARD));
});

/** Share of non-white pixels of a binary PGM (P5, 8-bit) page. */
function inkShare(pgm: Buffer): number {
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  assert.ok(header, 'a P5 PGM');
  const [whole, w, h] = header;
  const pixels = pgm.subarray(whole.length, whole.length + Number(w) * Number(h));
  let ink = 0;
  for (const p of pixels) if (p < 200) ink += 1;
  return ink / pixels.length;
}
