import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePgbench, quantile, ratio, table } from './report.js';

test('quantiles by nearest rank', () => {
  const v = [5, 1, 4, 2, 3];
  assert.equal(quantile(v, 0.5), 3);
  assert.equal(quantile(v, 0.99), 5);
  assert.equal(quantile(v, 0), 1);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('ratios and tables', () => {
  assert.equal(ratio(50, 100), '0.50');
  assert.equal(ratio(1, 0), '-');
  assert.equal(table(['a', 'b'], [[1, 'x|y']]), '| a | b |\n| --- | --- |\n| 1 | x\\|y |');
});

test('pgbench output is parsed', () => {
  const out =
    'number of transactions actually processed: 1200\nnumber of failed transactions: 0 (0.000%)\nlatency average = 2.500 ms\ntps = 400.123 (without initial connection time)\n';
  assert.deepEqual(parsePgbench(out), { tps: 400.123, latencyMs: 2.5, failed: 0, processed: 1200 });
});
