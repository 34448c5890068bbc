// Masking at the edge (issue 13): the demo policy masks public.customers for group agents by
// column (card and IBAN partial, SSN redacted, e-mail tokenized) and runs detectors on every
// other text cell. What demo-agent gets through the gateway, compared with what the target
// holds (read directly as its admin).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startInstance } from '../support/instances.js';
import { ROOT, pgConfig, psql, stack, targetQuery, token, uniqueMarker } from '../support/stack.js';

const JANE = { card: '4111111111111111', iban: 'DE89370400440532013000', ssn: '078-05-1120', email: 'jane.roe@example.com' };
const TOKEN_EMAIL = /^tok_[0-9a-f]+@d[0-9a-f]+\.invalid$/;

const clients: pg.Client[] = [];
async function agent(app: string): Promise<pg.Client> {
  const c = new pg.Client(pgConfig({ applicationName: uniqueMarker(app) }));
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}
after(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
});

test('an agent sees the customer columns masked as the policy says, under any alias and in both protocols', async () => {
  const c = await agent('e2e_mask_columns');
  const sql = 'SELECT card_number, iban, ssn, email, card_number AS c2, upper(ssn) AS computed FROM public.customers WHERE id = 5001';
  for (const result of [await c.query(sql), await c.query({ text: `${sql.replace('5001', '$1')}`, values: [5001] })]) {
    const [row] = result.rows as Record<string, string>[];
    assert.ok(row);
    assert.equal(row['card_number'], '************1111');
    assert.equal(row['c2'], '************1111', 'an alias is still the column (named from the catalog)');
    assert.equal(row['iban'], '******************3000');
    assert.equal(row['ssn'], '[REDACTED:column]');
    assert.match(row['email'] ?? '', TOKEN_EMAIL);
    // A computed column has no origin: the detectors find the SSN in it.
    assert.equal(row['computed'], '[REDACTED:us-ssn]');
    for (const raw of Object.values(JANE)) assert.ok(!JSON.stringify(row).includes(raw), `${raw} reached the agent`);
  }
  // The target holds the real values: the gateway masked them on the way.
  assert.equal(targetQuery('select card_number from public.customers where id = 5001'), JANE.card);
});

test('detectors find values pasted into free text and mask only them, leaving the sentence', async () => {
  const c = await agent('e2e_mask_notes');
  const { rows } = await c.query<{ id: string; notes: string }>(
    'SELECT id, notes FROM public.customers WHERE id IN (11, 22, 44, 55, 66) ORDER BY id',
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r.notes]));
  assert.equal(byId.get(11), 'Customer pasted card [REDACTED:card] in chat');
  assert.equal(byId.get(22), 'ops pasted key [REDACTED:aws-access-key-id] by mistake');
  assert.match(byId.get(44) ?? '', /^Refund goes to IBAN \[REDACTED:iban\] as agreed/);
  assert.match(byId.get(55) ?? '', /SSN \[REDACTED:us-ssn\] matches/);
  assert.match(byId.get(66) ?? '', /^Wants replies at tok_[0-9a-f]+@d[0-9a-f]+\.invalid instead/);
  const pasted = await c.query<{ k: string }>(`SELECT 'key ' || 'AKIA' || 'IOSFODNN7EXAMPLE' AS k`);
  assert.equal(pasted.rows[0]?.k, 'key [REDACTED:aws-access-key-id]');
});

test('tokens are deterministic: the same e-mail gets the same token in every session, and grouping on it matches direct', async () => {
  const a = await agent('e2e_mask_token_a');
  const b = await agent('e2e_mask_token_b');
  const q = 'SELECT email FROM public.customers WHERE id = 5001';
  const [ta, tb] = [(await a.query<{ email: string }>(q)).rows[0]?.email, (await b.query<{ email: string }>(q)).rows[0]?.email];
  assert.match(ta ?? '', TOKEN_EMAIL);
  assert.equal(ta, tb);
  // The e-mail pasted into customer 66's note tokenizes to the same token as the column.
  const note = (await a.query<{ notes: string }>('SELECT notes FROM public.customers WHERE id = 66')).rows[0]?.notes ?? '';
  assert.ok(note.includes(ta ?? '?'), 'the detector and the column rule give one token per value');

  // GROUP BY on the tokenized column: the same group sizes as direct, and distinct tokens as distinct values.
  const group = 'SELECT email, count(*)::int AS n FROM public.customers GROUP BY email';
  const through = (await a.query<{ email: string; n: number }>(group)).rows;
  const direct = targetQuery(`select count(*)::int from public.customers group by email order by 1`).split('\n').map(Number);
  assert.deepEqual(
    through.map((r) => r.n).sort((x, y) => x - y),
    direct,
  );
  assert.equal(new Set(through.map((r) => r.email)).size, through.length, 'distinct values, distinct tokens');
  for (const r of through) assert.match(r.email, TOKEN_EMAIL);

  // A join on the tokenized e-mail, client side: tokens of two separate reads meet as the values do.
  const left = (await a.query<{ id: string; email: string }>('SELECT id, email FROM public.customers WHERE id <= 300')).rows;
  const right = (await b.query<{ id: string; email: string }>('SELECT id, email FROM public.customers WHERE id > 200 AND id <= 600')).rows;
  const rightByEmail = new Map<string, number>();
  for (const r of right) rightByEmail.set(r.email, (rightByEmail.get(r.email) ?? 0) + 1);
  const joined = left.reduce((n, l) => n + (rightByEmail.get(l.email) ?? 0), 0);
  const directJoin = Number(
    targetQuery(
      'select count(*) from public.customers l join public.customers r on l.email = r.email where l.id <= 300 and r.id > 200 and r.id <= 600',
    ),
  );
  assert.equal(joined, directJoin);
});

test('COPY TO STDOUT of customers goes through the detectors: no card, IBAN or SSN in clear', async () => {
  const r = await psql(
    ['-c', 'COPY (SELECT id, card_number, iban, ssn, notes FROM public.customers WHERE id IN (11, 44, 55, 5001) ORDER BY id) TO STDOUT'],
    {
      applicationName: uniqueMarker('e2e_mask_copy'),
    },
  );
  assert.equal(r.status, 0, r.stderr);
  for (const raw of [JANE.card, JANE.iban, JANE.ssn, '4111 1111 1111 1111']) assert.ok(!r.stdout.includes(raw), `${raw} in COPY output`);
  assert.match(r.stdout, /\[REDACTED:card\]/);
});

test('other groups are not masked: dba-agent on scratch reads its own values as they are', async () => {
  const c = new pg.Client(
    pgConfig({ applicationName: uniqueMarker('e2e_mask_dba'), user: 'dba-agent', database: 'scratch', password: token('dba-agent') }),
  );
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  const { rows } = await c.query<{ v: string }>(`SELECT '${JANE.card}' AS v`);
  assert.equal(rows[0]?.v, JANE.card);
});

function ingressRssMiB(): number {
  const pid = readFileSync(join(ROOT, '.stack/run/ingress-postgres.pid'), 'utf8').trim();
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

test('a 1,000,000-row masked result streams through with bounded ingress memory, every pasted card masked', async () => {
  const before = ingressRssMiB();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, ingressRssMiB());
  }, 50);
  let r: Awaited<ReturnType<typeof psql>>;
  try {
    r = await psql(
      [
        '-At',
        '-c',
        "select g, case when g % 1000 = 0 then 'card 4111111111111111 pasted' else 'row '||g end from generate_series(1,1000000) g",
      ],
      { applicationName: uniqueMarker('e2e_mask_bulk') },
    );
  } finally {
    clearInterval(sampler);
  }
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1_000_000);
  assert.equal(lines.filter((l) => l.endsWith('|card [REDACTED:card] pasted')).length, 1000);
  assert.ok(!r.stdout.includes('4111111111111111'));
  assert.ok(peak - before < 256, `ingress RSS grew by ${Math.round(peak - before)} MiB (from ${Math.round(before)} MiB)`);
});

test('a token is the same through another ingress instance with the same key, and differs under another key', async () => {
  const q = 'SELECT email FROM public.customers WHERE id = 5001';
  const tokenVia = async (port: number): Promise<string | undefined> => {
    const c = new pg.Client({ ...pgConfig({ applicationName: uniqueMarker('e2e_mask_instances') }), port });
    c.on('error', () => {});
    await c.connect();
    try {
      return (await c.query<{ email: string }>(q)).rows[0]?.email;
    } finally {
      await c.end();
    }
  };
  const here = await tokenVia(stack.ingressPort);
  assert.match(here ?? '', TOKEN_EMAIL);
  // Another key: the same connections file but for its maskingKeys, in a directory of the test's own.
  const dir = mkdtempSync(join(tmpdir(), 'e2e-mask-key-'));
  writeFileSync(join(dir, 'key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  const connections = JSON.parse(readFileSync(join(ROOT, 'deploy/connections.json'), 'utf8')) as Record<string, unknown>;
  connections['maskingKeys'] = { current: { id: 'e2e-other', credential: `file:${join(dir, 'key')}` } };
  writeFileSync(join(dir, 'connections.json'), JSON.stringify(connections));
  const same = await startInstance({ service: 'ingress-postgres', name: uniqueMarker('mask-same') });
  const other = await startInstance({
    service: 'ingress-postgres',
    name: uniqueMarker('mask-other'),
    env: { AG_CONNECTIONS_FILE: join(dir, 'connections.json') },
  });
  try {
    await Promise.all([same.ready(60_000), other.ready(60_000)]);
    assert.equal(await tokenVia(same.pgPort!), here, 'same key, same token, whichever instance');
    const otherToken = await tokenVia(other.pgPort!);
    assert.match(otherToken ?? '', TOKEN_EMAIL);
    assert.notEqual(otherToken, here, 'another key, another token');
  } finally {
    await Promise.all([same.stop(), other.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
});
