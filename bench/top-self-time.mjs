// Prints the 15 functions with the most self time in a V8 .cpuprofile, grouped by
// function and package, with the share of all samples (idle included, and named).
import { readFileSync } from 'node:fs';

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;
const bucket = new Map();
for (const [id, n] of counts) {
  const f = byId.get(id).callFrame;
  const where = f.url.includes('node_modules/')
    ? f.url
        .split('node_modules/')
        .pop()
        .split('/')
        .slice(0, f.url.includes('node_modules/@') ? 2 : 1)
        .join('/')
    : f.url.includes('/work/') || f.url.startsWith('file://')
      ? f.url.split('/').slice(-2).join('/')
      : f.url || 'native';
  const key = `${f.functionName || '(anonymous)'}  [${where}]`;
  bucket.set(key, (bucket.get(key) ?? 0) + n);
}
const rows = [...bucket].sort((a, b) => b[1] - a[1]).slice(0, 15);
for (const [k, n] of rows) console.log(`${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
