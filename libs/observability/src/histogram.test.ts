import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketDelta, bucketQuantile, LatencyHistogram, parseHistogram } from './histogram.js';

test('a histogram renders cumulative buckets per label and parses back', () => {
  const h = new LatencyHistogram('x_seconds', 'help', 'stage', [0.001, 0.01, 0.1]);
  for (const s of [0.0005, 0.002, 0.003, 0.05]) h.observe('a', s);
  h.observe('b', 5);
  const text = h.render();
  assert.match(text, /^x_seconds_bucket\{stage="a",le="0.01"\} 3$/m);
  assert.match(text, /^x_seconds_bucket\{stage="b",le="\+Inf"\} 1$/m);
  assert.match(text, /^x_seconds_count\{stage="a"\} 4$/m);
  const parsed = parseHistogram(text, 'x_seconds');
  assert.deepEqual(parsed.get('a'), { bounds: [0.001, 0.01, 0.1], cumulative: [1, 3, 4], count: 4 });
  assert.deepEqual(parsed.get('b')?.cumulative, [0, 0, 0]);
});

test('quantiles interpolate inside the bucket; a delta holds only what happened between snapshots', () => {
  const before = { bounds: [1, 2, 4], cumulative: [10, 10, 10], count: 10 };
  const after = { bounds: [1, 2, 4], cumulative: [10, 20, 30], count: 30 };
  const d = bucketDelta(after, before);
  assert.deepEqual(d.cumulative, [0, 10, 20]);
  assert.equal(bucketQuantile(d, 0.5), 2);
  assert.equal(bucketQuantile(d, 0.25), 1.5);
  assert.ok(Number.isNaN(bucketQuantile({ bounds: [1], cumulative: [0], count: 0 }, 0.5)));
});
