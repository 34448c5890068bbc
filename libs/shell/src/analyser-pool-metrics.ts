import type { ShellAnalyserPoolStats } from './analyser-pool.js';

const GAUGES = new Set<keyof ShellAnalyserPoolStats>(['workers', 'busyWorkers', 'queueLength']);

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The pool's stats in the Prometheus text format, as agentgate_shell_analyser_* series. */
export function shellAnalyserPoolMetrics(stats: ShellAnalyserPoolStats): string {
  let out = '';
  for (const [key, value] of Object.entries(stats) as [keyof ShellAnalyserPoolStats, number][]) {
    const counter = !GAUGES.has(key);
    const name = `agentgate_shell_analyser_${snake(key)}${counter ? '_total' : ''}`;
    out += `# TYPE ${name} ${counter ? 'counter' : 'gauge'}\n${name} ${value}\n`;
  }
  return out;
}
