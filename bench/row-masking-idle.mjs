// Masks the demo's 100-row result (public.customers, ids 1-100, read from the stack's target) in
// this process with the demo policy's demo-pii plan, through the ingress's own row masking
// (services/ingress-postgres/dist/row-masking.js), two ways: results back to back, and one
// result after each idle pause of `gapMs` (one client through the gateway sees a result every
// 10-20 ms). The same code and the same rows: the difference is what a core coming back from
// idle pays on this machine, not work the code does.
//   node bench/row-masking-idle.mjs [gapMs=15] [results=300] [--json]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileMaskingPlan, MaskingTally } from '@agentgate/masking';
import { dataRow } from '@agentgate/pg-wire';
import { compilePolicy, readPolicyDir } from '@agentgate/policy';
import pg from 'pg';
import { maskDataRow, planRowMasking } from '../services/ingress-postgres/dist/row-masking.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const gapMs = Number(process.argv[2] ?? 15);
const results = Number(process.argv[3] ?? 300);
if (!(gapMs >= 0 && results > 0)) throw new Error('usage: node bench/row-masking-idle.mjs [gapMs] [results] [--json]');

const stackEnv = Object.fromEntries(
  readFileSync(join(ROOT, '.stack/run/stack.env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const target = new pg.Client({
  host: stackEnv.AG_TARGET_PG_HOST,
  port: Number(stackEnv.AG_TARGET_PG_PORT),
  user: 'agentgate_admin',
  password: readFileSync(join(ROOT, '.stack/secrets/target-admin-password'), 'utf8').trim(),
  database: 'demo',
});
await target.connect();
const answer = await target.query({ text: 'SELECT * FROM public.customers WHERE id BETWEEN 1 AND 100 ORDER BY id', rowMode: 'array' });
const catalog = await target.query(
  "SELECT c.oid::int AS oid, a.attnum AS attnum, a.attname AS name FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.oid = 'public.customers'::regclass AND a.attnum > 0",
);
await target.end();

const rows = answer.rows.map((values) => dataRow(values.map((v) => (v === null ? null : String(v)))));
const oid = catalog.rows[0].oid;
const relation = { schema: 'public', table: 'customers', columns: new Map(catalog.rows.map((r) => [r.attnum, r.name])) };
const columns = answer.fields.map((f) => ({ name: f.name, tableOid: oid, columnAttr: f.columnID, typeOid: f.dataTypeID, format: 0 }));
const compiled = compilePolicy(await readPolicyDir(join(ROOT, 'deploy/policies/demo')), { name: 'demo' });
if (!compiled.ok) throw new Error(`the demo policy does not compile: ${JSON.stringify(compiled.errors)}`);
const plan = compileMaskingPlan(compiled.policy.masking['demo-pii'], { current: { id: 'bench', secret: new Uint8Array(32).fill(1) } });

/** One result as the ingress masks it: its columns planned, each row masked, the tally read. */
function maskResult() {
  const tally = new MaskingTally();
  const masking = planRowMasking(columns, 'demo', plan, (o) => (o === oid ? relation : undefined));
  for (const frame of rows) maskDataRow(frame, masking, plan, tally);
  tally.toJSON();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (let i = 0; i < 2000; i++) maskResult();
const backToBack = [];
for (let i = 0; i < results; i++) {
  const t = performance.now();
  maskResult();
  backToBack.push(performance.now() - t);
}
const afterIdle = [];
for (let i = 0; i < results; i++) {
  await new Promise((r) => setTimeout(r, gapMs));
  const t = performance.now();
  maskResult();
  afterIdle.push(performance.now() - t);
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ gapMs, results, backToBackMs: median(backToBack), afterIdleMs: median(afterIdle) }));
  process.exit(0);
}
console.log(
  `100-row result masked in process: ${median(backToBack).toFixed(3)} ms p50 back to back, ${median(afterIdle).toFixed(3)} ms p50 after ${gapMs} ms idle (${results} results each)`,
);
