// Prints the functions with the most inclusive time in a V8 .cpuprofile: the share of all
// samples (idle included) in which each function is on the stack, counted once per sample
// however often it recurs. Where top-self-time.mjs shows where the CPU is, this shows which
// caller it is spent for (e.g. evolveUsage's copies inside handleBatch).
//   node bench/inclusive-time.mjs PROFILE [filter] [rows]
import { readFileSync } from 'node:fs';

const [file, filter = '', rows = '40'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const where = (url) => (url.includes('node_modules/') ? url.split('node_modules/').pop() : url.split('/').slice(-2).join('/'));
const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} [${where(n.callFrame.url)}:${n.callFrame.lineNumber}]`;
const inclusive = new Map();
let idle = 0;
for (const id of profile.samples) {
  if (byId.get(id).callFrame.functionName === '(idle)') {
    idle++;
    continue;
  }
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) seen.add(keyOf(byId.get(cur)));
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
}
const total = profile.samples.length;
console.log(`${total} samples, ${((idle / total) * 100).toFixed(1)}% idle`);
const top = [...inclusive]
  .filter(([k]) => k.includes(filter))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(rows));
for (const [k, n] of top) console.log(`${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
