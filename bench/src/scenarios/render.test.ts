import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderScenarios } from './render.js';

const stats = (p50: number, p99: number) => ({ p50, p95: (p50 + p99) / 2, p99, count: 50 });

test('the http section: both paths, the added latency and the exact command', () => {
  const md = renderScenarios({
    quick: true,
    http: {
      ok: true,
      value: {
        warmup: 10,
        runs: [
          { path: 'direct', url: 'http://127.0.0.1:18081/apis/ccompat/v7/subjects', stats: stats(1, 3) },
          { path: 'agentgate', url: 'https://127.0.0.1:18443/registry/apis/ccompat/v7/subjects', stats: stats(2.5, 7.25) },
        ],
      },
    },
  });
  assert.match(md, /#### HTTP ingress/);
  assert.match(md, /\| direct \| `http:\/\/127\.0\.0\.1:18081\/apis\/ccompat\/v7\/subjects` \| 1\.00 \| 2\.00 \| 3\.00 \| 50 \|/);
  assert.match(md, /\| agentgate \| `https:\/\/127\.0\.0\.1:18443\/registry\/apis\/ccompat\/v7\/subjects` \| 2\.50 \|/);
  assert.match(md, /Added by agentgate over direct: p50 1\.50 ms, p99 4\.25 ms\./);
  assert.match(md, /Command: `npm run bench -- --scenarios --quick --only http`/);
  assert.match(md, /after 10 untimed requests/);
  assert.doesNotMatch(md, /#### SSH ingress/);
});

test('the ssh section: both paths, the added latency, the one connect and the exact command', () => {
  const md = renderScenarios({
    quick: false,
    ssh: {
      ok: true,
      value: {
        warmup: 5,
        runs: [
          { path: 'direct', login: 'agentgate-web@127.0.0.1:22222', connectMs: 12.34, stats: stats(0.8, 1.2) },
          { path: 'agentgate', login: 'web@127.0.0.1:12222', connectMs: 40, stats: stats(3.8, 9.2) },
        ],
      },
    },
  });
  assert.match(md, /#### SSH ingress/);
  assert.match(md, /\| direct \| agentgate-web@127\.0\.0\.1:22222 \| 0\.80 \| 1\.00 \| 1\.20 \| 50 \| 12\.3 \|/);
  assert.match(md, /\| agentgate \| web@127\.0\.0\.1:12222 \| 3\.80 \|/);
  assert.match(md, /Added by agentgate over direct: p50 3\.00 ms, p99 8\.00 ms\./);
  assert.match(md, /Command: `npm run bench -- --scenarios --only ssh`/);
  assert.match(md, /after 5 untimed ones/);
});

test('a scenario that failed says so instead of a table, and a missing path leaves no added line', () => {
  const md = renderScenarios({
    quick: true,
    http: { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:18443\n    at TCPConnectWrap' },
    ssh: { ok: true, value: { warmup: 5, runs: [{ path: 'direct', login: 'x', connectMs: 1, stats: stats(1, 2) }] } },
  });
  assert.match(md, /#### HTTP ingress[^\n]*\n\nNot measured in this run: connect ECONNREFUSED 127\.0\.0\.1:18443\n/);
  assert.doesNotMatch(md, /TCPConnectWrap/);
  assert.doesNotMatch(md, /\n\n\n/);
  assert.doesNotMatch(md, /Added by agentgate/);
});
