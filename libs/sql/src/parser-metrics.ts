import type { SqlParserPoolStats } from './parser-pool.js';

const COUNTERS = new Set<keyof SqlParserPoolStats>([
  'parses',
  'cacheHits',
  'shapeHits',
  'coalesced',
  'recycles',
  'parserFailures',
  'timeouts',
]);

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The pool's stats in the Prometheus text format, as agentgate_sql_parser_* series. */
export function parserPoolMetrics(stats: SqlParserPoolStats): string {
  let out = '';
  for (const [key, value] of Object.entries(stats) as [keyof SqlParserPoolStats, number][]) {
    const counter = COUNTERS.has(key);
    const name = `agentgate_sql_parser_${snake(key)}${counter ? '_total' : ''}`;
    out += `# TYPE ${name} ${counter ? 'counter' : 'gauge'}\n${name} ${value}\n`;
  }
  return out;
}
