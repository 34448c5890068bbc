import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parserPoolMetrics } from './parser-metrics.js';

test('pool stats render as Prometheus counters and gauges', () => {
  const text = parserPoolMetrics({
    workers: 2,
    busyWorkers: 1,
    largestHeapBytes: 10,
    queueLength: 0,
    parses: 5,
    cacheHits: 3,
    shapeHits: 2,
    coalesced: 0,
    cacheEntries: 4,
    cacheBytes: 100,
    recycles: 1,
    parserFailures: 1,
    timeouts: 0,
  });
  assert.match(text, /^# TYPE agentgate_sql_parser_parses_total counter\nagentgate_sql_parser_parses_total 5$/m);
  assert.match(text, /^agentgate_sql_parser_busy_workers 1$/m);
  assert.match(text, /^agentgate_sql_parser_shape_hits_total 2$/m);
  assert.match(text, /^# TYPE agentgate_sql_parser_largest_heap_bytes gauge$/m);
});
