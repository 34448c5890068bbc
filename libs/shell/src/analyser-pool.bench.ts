// In-process benchmark behind docs/ssh.md ("Exec: decided per command"): short-command analyses
// per second while another stream sends 4 KiB command lines back to back, inline (analyseCommand
// on the event loop, as the policy processor did) against the worker pool. Each stream stands for
// one partition the processor consumes (it consumes six at once): it analyses one command at a
// time, yielding to the event loop between them as the processor does between messages. The
// event loop's longest stall is what every other verdict (SQL included) waits for.
//
//   node libs/shell/dist/analyser-pool.bench.js [seconds=5] [shortStreams=5]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { analyseCommand, MAX_COMMAND_BYTES, type ShellFacts } from './analyse.js';
import { ShellAnalyserPool } from './analyser-pool.js';

const seconds = Number(process.argv[2] ?? 5);
const shortStreams = Number(process.argv[3] ?? 5);
const SHORT = "sudo -u app sh -c 'cd /srv && ls -la | grep -v tmp' > /tmp/out";
const text = Array.from({ length: MAX_COMMAND_BYTES }, (_, i) => `echo item${i} > /tmp/f${i}`).join('; ');
const LONG = text.slice(0, text.lastIndexOf('; ', MAX_COMMAND_BYTES));

type Analyse = (command: string) => Promise<ShellFacts> | ShellFacts;

async function run(name: string, analyse: Analyse, withLong: boolean): Promise<void> {
  let shorts = 0;
  let longs = 0;
  let stop = false;
  const stream = async (command: string, count: () => void) => {
    while (!stop) {
      await analyse(command);
      count();
      await yieldToLoop();
    }
  };
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  const streams = Array.from({ length: shortStreams }, () => stream(SHORT, () => shorts++));
  if (withLong) streams.push(stream(LONG, () => longs++));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  await Promise.all(streams);
  const elapsed = (performance.now() - started) / 1000;
  delay.disable();
  console.log(
    `${name.padEnd(38)} short/s ${(shorts / elapsed).toFixed(0).padStart(5)}   4KiB/s ${(longs / elapsed).toFixed(1).padStart(5)}   ` +
      `loop stall max ${(delay.max / 1e6).toFixed(0).padStart(4)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0).padStart(4)} ms`,
  );
}

console.log(`${Buffer.byteLength(LONG)}-byte long command, ${shortStreams} short streams, ${seconds} s each`);
for (let i = 0; i < 20; i++) analyseCommand(LONG);
await run('inline, short only', analyseCommand, false);
await run('inline, short + 4 KiB stream', analyseCommand, true);
const pool = await ShellAnalyserPool.start({ workers: 2 });
await run('pool (2 workers), short only', (c) => pool.analyse(c), false);
await run('pool (2 workers), short + 4 KiB stream', (c) => pool.analyse(c), true);
await pool.close();
const mixed = await ShellAnalyserPool.start({ workers: 2, inlineBelowBytes: 256 });
await run('pool, inline < 256 B, short only', (c) => mixed.analyse(c), false);
await run('pool, inline < 256 B, short + 4 KiB', (c) => mixed.analyse(c), true);
await mixed.close();
