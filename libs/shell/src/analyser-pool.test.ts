// Given the analyser pool, when commands are analysed in its workers, then the facts are those
// analyseCommand gives inline; and when a worker hangs, crashes, the queue is full or the pool is
// closed, then the answer is the fail-closed unknown analysis and the pool goes on serving.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShellAnalyserPool } from './analyser-pool.js';
import { analyseCommand, createShellAnalyserPool, MAX_COMMAND_BYTES, shellAnalyserPoolMetrics, UNKNOWN_REASONS } from './index.js';

/** A script of `bytes` bytes at most: the slowest kind of command line the analyser accepts. */
function script(bytes: number): string {
  const text = Array.from({ length: bytes }, (_, i) => `echo item${i} > /tmp/f${i}`).join('; ');
  return text.slice(0, text.lastIndexOf('; ', bytes));
}

const CORPUS = [
  'ls -la /tmp',
  'cat a | grep -v b | wc -l',
  "sudo -u x -- sh -c 'cd /tmp && rm -rf x' 2>&1 > out.log",
  'find / -exec rm -rf {} \\;',
  'env -i A=1 PATH=/x xargs rm -f',
  'for f in a b; do rm -r $f; done; echo "$(id)" >> /var/log/x',
  'eval "$X"; source ./x; alias ll="ls -l"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell indirect expansion, not a template
  "printf -v 'a[$(id)]' x; ${!x}",
  "echo 'ünï' 🚀 日本語 > 'é'",
  'if then fi (',
  'ls\u0000rm',
  '',
  script(MAX_COMMAND_BYTES),
  `${script(MAX_COMMAND_BYTES)}; ${'x'.repeat(64)}`,
];

const pools: { close(): Promise<void> }[] = [];
test.after(() => Promise.all(pools.map((p) => p.close())));
async function pool(options: Parameters<typeof ShellAnalyserPool.start>[0] = {}): Promise<ShellAnalyserPool> {
  const p = await ShellAnalyserPool.start(options);
  pools.push(p);
  return p;
}

test('the pool gives exactly the facts analyseCommand gives inline', { timeout: 30_000 }, async () => {
  const p = await pool();
  assert.ok(Buffer.byteLength(script(MAX_COMMAND_BYTES)) > MAX_COMMAND_BYTES - 40);
  const pooled = await Promise.all(CORPUS.map((c) => p.analyse(c)));
  for (const [i, command] of CORPUS.entries()) assert.deepEqual(pooled[i], analyseCommand(command), command.slice(0, 60));
  assert.equal(p.stats().analyses, CORPUS.length);
  assert.equal(p.stats().inline, 0);
});

test('commands shorter than inlineBelowBytes are analysed inline, with the same facts', async () => {
  const p = await pool({ workers: 1, inlineBelowBytes: 64 });
  assert.deepEqual(await p.analyse('sudo rm -rf /'), analyseCommand('sudo rm -rf /'));
  assert.deepEqual(await p.analyse(script(200)), analyseCommand(script(200)));
  assert.deepEqual({ inline: p.stats().inline, analyses: p.stats().analyses }, { inline: 1, analyses: 1 });
});

test('a worker that never answers is replaced: the request is unknown (analysis-timeout), the next one is analysed', {
  timeout: 30_000,
}, async () => {
  const p = await pool({ workers: 1, timeoutMs: 500 });
  assert.deepEqual(await p.analyseWithFault('ls', 'hang'), { commands: [], unknown: ['analysis-timeout'], writes: [] });
  assert.deepEqual(await p.analyse('rm -rf /x'), analyseCommand('rm -rf /x'));
  assert.deepEqual({ timeouts: p.stats().timeouts, recycles: p.stats().recycles }, { timeouts: 1, recycles: 1 });
});

test('a real analysis past the timeout is unknown (analysis-timeout)', { timeout: 30_000 }, async () => {
  // A 4 KiB command takes 90-400 ms on the 2-core machine, far past 20 ms.
  const p = await pool({ workers: 1, timeoutMs: 20 });
  assert.deepEqual(await p.analyse(script(MAX_COMMAND_BYTES)), { commands: [], unknown: ['analysis-timeout'], writes: [] });
  assert.equal(p.stats().timeouts, 1);
});

test('a worker that crashes is replaced: the request is unknown (analysis-failed), the next one is analysed', {
  timeout: 30_000,
}, async () => {
  const p = await pool({ workers: 1 });
  assert.deepEqual(await p.analyseWithFault('ls', 'exit'), { commands: [], unknown: ['analysis-failed'], writes: [] });
  assert.deepEqual(await p.analyse('sudo ls'), analyseCommand('sudo ls'));
  assert.equal(p.stats().failures, 1);
});

test('over a full queue a request is unknown (analysis-overloaded) at once; the queued ones are still analysed', {
  timeout: 30_000,
}, async () => {
  const p = await pool({ workers: 1, maxQueue: 2, timeoutMs: 1000 });
  const stuck = p.analyseWithFault('ls', 'hang');
  const queued = [p.analyse('ls -a'), p.analyse('rm -r x')];
  assert.equal(p.stats().queueLength, 2);
  assert.deepEqual(await p.analyse('ls -b'), { commands: [], unknown: ['analysis-overloaded'], writes: [] });
  assert.equal(p.stats().overloaded, 1);
  assert.deepEqual((await stuck).unknown, ['analysis-timeout']);
  assert.deepEqual(await Promise.all(queued), [analyseCommand('ls -a'), analyseCommand('rm -r x')]);
});

test('a short command overtakes a waiting long one: one worker is kept free of long commands', { timeout: 30_000 }, async () => {
  const p = await pool({ workers: 2, largeCommandBytes: 1024 });
  const order: string[] = [];
  const long = script(MAX_COMMAND_BYTES);
  const done = [
    p.analyse(long).then(() => order.push('long 1')),
    p.analyse(`${long.slice(0, -8)}; ls`).then(() => order.push('long 2')),
    p.analyse('ls -l').then(() => order.push('short')),
  ];
  await Promise.all(done);
  assert.ok(order.indexOf('short') < order.indexOf('long 2'), order.join(', '));
});

test('close() ends every worker and answers what waits unknown (analysis-closed)', { timeout: 30_000 }, async () => {
  const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
  const before = ports();
  const p = await createShellAnalyserPool({ workers: 2, timeoutMs: 10_000 });
  assert.equal(ports(), before + 2);
  const running = (p as ShellAnalyserPool).analyseWithFault('ls', 'hang');
  const waiting = [p.analyse('ls'), p.analyse('ls'), p.analyse('ls')];
  await p.close();
  assert.equal(ports(), before);
  assert.deepEqual(p.stats().workers, 0);
  const closed = { commands: [], unknown: ['analysis-closed'], writes: [] };
  assert.deepEqual(await running, closed);
  assert.deepEqual(await Promise.all(waiting), [closed, closed, closed]);
  assert.deepEqual(await p.analyse('ls'), closed);
  await p.close();
});

test('every reason the pool gives is one of UNKNOWN_REASONS', () => {
  for (const r of ['analysis-closed', 'analysis-failed', 'analysis-overloaded', 'analysis-timeout'])
    assert.ok((UNKNOWN_REASONS as readonly string[]).includes(r), r);
});

test('invalid options are refused before any worker starts', async () => {
  await assert.rejects(ShellAnalyserPool.start({ workers: 0 }), RangeError);
  await assert.rejects(ShellAnalyserPool.start({ timeoutMs: 1.5 }), RangeError);
});

test('the stats read as Prometheus series: counters end in _total, gauges do not', () => {
  const text = shellAnalyserPoolMetrics({
    workers: 2,
    busyWorkers: 1,
    queueLength: 0,
    analyses: 5,
    inline: 0,
    timeouts: 1,
    failures: 0,
    overloaded: 3,
    recycles: 1,
  });
  assert.match(text, /# TYPE agentgate_shell_analyser_busy_workers gauge\nagentgate_shell_analyser_busy_workers 1\n/);
  assert.match(text, /# TYPE agentgate_shell_analyser_overloaded_total counter\nagentgate_shell_analyser_overloaded_total 3\n/);
});
