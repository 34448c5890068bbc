// The SFTP relay between real OpenSSH programs: the agent side is OpenSSH's own `sftp -b`
// and `scp` (SFTP mode, OpenSSH 9) talking to an ssh2 Server that hands its sftp subsystem
// to relaySftp; the target side is a real sshd with internal-sftp, started here on a free
// port with throwaway keys. Needs /usr/sbin/sshd and the OpenSSH client; no Kafka.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@agentgate/observability';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import { relaySftp, type SftpGate, type SftpOutcome, type SftpRequest } from './sftp-relay.js';

const run = promisify(execFile);
const { Client, Server } = ssh2;

interface Seen {
  op: SftpRequest;
  allowed: boolean;
  outcome?: SftpOutcome;
}

const dir = mkdtempSync(join(tmpdir(), 'ag-sftp-relay-'));
const remote = join(dir, 'remote');
const local = join(dir, 'local');
const seen: Seen[] = [];
const log = createLogger({ service: 'sftp-relay-int-test', level: process.env['SFTP_TEST_LOG'] ?? 'silent' });
let sshd: ChildProcess | undefined;
let target: InstanceType<typeof Client> | undefined;
let gateway: InstanceType<typeof Server> | undefined;
let gatewayPort = 0;

/** Denies every path that has a `denied` component; records each request and its outcome. */
const gate: SftpGate = {
  async request(op) {
    const denied = [op.path, op.targetPath].some((p) => p?.split('/').includes('denied') === true);
    const entry: Seen = { op, allowed: !denied };
    seen.push(entry);
    // A verdict is never synchronous in production (it travels through Kafka).
    await new Promise((resolve) => setImmediate(resolve));
    return {
      allowed: !denied,
      message: denied ? 'denied by test policy' : '',
      done: (outcome) => {
        assert.equal(entry.outcome, undefined, 'done called twice');
        entry.outcome = outcome;
      },
    };
  },
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function keygen(path: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sftp-relay-test', '-f', path]);
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

const clientOptions = (): string[] => [
  '-F',
  '/dev/null',
  '-P',
  String(gatewayPort),
  '-i',
  join(dir, 'agent_key'),
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
];

/** Runs an sftp batch against the gateway; resolves with the exit code (batch mode stops at the first failure). */
async function sftpBatch(commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const batch = join(dir, `batch-${seen.length}-${Date.now()}`);
  writeFileSync(batch, `${commands.join('\n')}\n`);
  try {
    const { stdout, stderr } = await run('sftp', ['-b', batch, ...clientOptions(), 'agent@127.0.0.1'], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

async function scp(from: string, to: string): Promise<void> {
  await run('scp', [...clientOptions(), '-q', from, to], { timeout: 60_000 });
}

/** The requests recorded since `mark`, without the chunk-level ones. */
function opsSince(mark: number): [string, string | null, string | null][] {
  return seen
    .slice(mark)
    .filter((s) => s.op.operation !== 'read' && s.op.operation !== 'write')
    .map((s) => [s.op.operation, s.op.path, s.op.targetPath]);
}

function chunksSince(mark: number, operation: 'read' | 'write', path: string): Seen[] {
  return seen.slice(mark).filter((s) => s.op.operation === operation && s.op.path === path);
}

function closeOf(mark: number, path: string): SftpOutcome {
  const close = seen.slice(mark).find((s) => s.op.operation === 'close' && s.op.path === path);
  assert.ok(close?.outcome, `a recorded close of ${path}`);
  return close.outcome;
}

/** Waits until every recorded request has its outcome (done runs just before the agent's answer). */
async function settled(): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (seen.some((s) => s.outcome === undefined)) {
    if (Date.now() > deadline) assert.fail('an sftp request was never answered');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Asserts the chunks of one transfer tile [0, size) and each carries its own digest. */
function assertChunks(chunks: Seen[], size: number): void {
  assert.ok(chunks.length > 1, 'a pipelined transfer');
  let covered = 0;
  for (const c of chunks) {
    assert.equal(c.outcome?.outcome, 'ok');
    const data = c.outcome.streams.find((s) => s.name === 'data');
    if (c.op.operation === 'write') assert.equal(data?.bytes, c.op.length);
    covered += data?.bytes ?? 0;
  }
  assert.equal(covered, size);
}

before(async () => {
  // sshd refuses to start without its privilege separation directory (created by systemd on hosts).
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  mkdirSync(remote);
  mkdirSync(local);
  mkdirSync(join(remote, 'denied'));
  await Promise.all(['sshd_host', 'target_key', 'gateway_host', 'agent_key'].map((k) => keygen(join(dir, k))));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'target_key.pub')));
  const sshdPort = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${sshdPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'sshd_host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PidFile none',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const daemon = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd = daemon;
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    daemon.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('Server listening')) resolve();
    });
    daemon.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${stderr}`)));
  });

  const client = new Client();
  target = client;
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({
      host: '127.0.0.1',
      port: sshdPort,
      username: 'root',
      privateKey: readFileSync(join(dir, 'target_key')),
    });
  });

  const server = new Server({ hostKeys: [readFileSync(join(dir, 'gateway_host'))] }, (agent) => {
    agent.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    agent.on('error', () => {});
    agent.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('sftp', (acceptSftp) => {
        // Accepted and relayed in this tick (see relaySftp); the target stream follows.
        const targetSftp = new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
        const agentSftp = acceptSftp();
        const relay = relaySftp(agentSftp, targetSftp, gate, log);
        agentSftp.on('close', () => {
          relay.close();
          targetSftp.then(
            (t) => t.end(),
            () => {},
          );
        });
      });
    });
  });
  gateway = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  gatewayPort = (server.address() as { port: number }).port;
});

after(() => {
  gateway?.close();
  target?.end();
  sshd?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('sftp put and get of 3 MB pass through unchanged, with per-chunk and per-handle digests', { timeout: 60_000 }, async () => {
  const original = join(local, 'up.bin');
  writeFileSync(original, randomBytes(3 * 1024 * 1024));
  const digest = sha256(original);
  const up = join(remote, 'up.bin');
  const down = join(local, 'down.bin');
  const mark = seen.length;

  const result = await sftpBatch([`put ${original} ${up}`, `get ${up} ${down}`]);
  assert.equal(result.code, 0, result.stderr);
  await settled();

  assert.equal(sha256(up), digest, 'the target holds the bytes the agent sent');
  assert.equal(sha256(down), digest, 'the agent got back the bytes the target holds');

  const ops = opsSince(mark);
  assert.deepEqual(ops[0], ['realpath', '.', null]);
  const openWrite = ops.findIndex(([op, path]) => op === 'open-write' && path === up);
  const openRead = ops.findIndex(([op, path]) => op === 'open-read' && path === up);
  const closes = ops.flatMap(([op, path], i) => (op === 'close' && path === up ? [i] : []));
  assert.ok(openWrite > 0 && openRead > openWrite, JSON.stringify(ops));
  assert.equal(closes.length, 2);
  assert.ok((closes[0] ?? -1) > openWrite && (closes[0] ?? -1) < openRead && (closes[1] ?? -1) > openRead, JSON.stringify(ops));

  assertChunks(chunksSince(mark, 'write', up), 3 * 1024 * 1024);
  assertChunks(chunksSince(mark, 'read', up), 3 * 1024 * 1024);
  const [putClose, getClose] = seen.slice(mark).filter((s) => s.op.operation === 'close' && s.op.path === up);
  assert.deepEqual(
    putClose?.outcome?.streams.find((s) => s.name.startsWith('written')),
    { name: 'written', bytes: 3 * 1024 * 1024, sha256: digest },
  );
  assert.deepEqual(
    getClose?.outcome?.streams.find((s) => s.name.startsWith('read')),
    { name: 'read', bytes: 3 * 1024 * 1024, sha256: digest },
  );
});

test('scp (SFTP mode) copies 3 MB both ways through the relay', { timeout: 60_000 }, async () => {
  const original = join(local, 'scp-up.bin');
  writeFileSync(original, randomBytes(3 * 1024 * 1024));
  const digest = sha256(original);
  const up = join(remote, 'scp.bin');
  const down = join(local, 'scp-down.bin');
  const mark = seen.length;

  await scp(original, `agent@127.0.0.1:${up}`);
  await scp(`agent@127.0.0.1:${up}`, down);
  await settled();

  assert.equal(sha256(up), digest);
  assert.equal(sha256(down), digest);
  assert.deepEqual(
    closeOf(mark, up).streams.find((s) => s.name.startsWith('written')),
    {
      name: 'written',
      bytes: 3 * 1024 * 1024,
      sha256: digest,
    },
  );
  const ops = opsSince(mark).map(([op]) => op);
  assert.ok(ops.includes('open-write') && ops.includes('open-read'), JSON.stringify(ops));
  const reads = seen.slice(mark).filter((s) => s.op.operation === 'close' && s.op.path === up);
  assert.deepEqual(
    reads.at(-1)?.outcome?.streams.find((s) => s.name.startsWith('read')),
    {
      name: 'read',
      bytes: 3 * 1024 * 1024,
      sha256: digest,
    },
  );
});

test('mkdir, rename, ln -s, chmod, ls, rm and rmdir reach the target in order with their paths', { timeout: 60_000 }, async () => {
  const small = join(local, 'small.txt');
  writeFileSync(small, 'hello\n');
  const d = join(remote, 'd1');
  const mark = seen.length;

  const result = await sftpBatch([
    `mkdir ${d}`,
    `put ${small} ${d}/a`,
    `rename ${d}/a ${d}/b`,
    `ln -s ${d}/b ${d}/link`,
    `chmod 600 ${d}/b`,
    `ls ${d}`,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\/d1\/b/);
  assert.match(result.stdout, /\/d1\/link/);
  assert.equal(readFileSync(join(d, 'b'), 'utf8'), 'hello\n');
  assert.equal(existsSync(join(d, 'a')), false);
  assert.equal(readlinkSync(join(d, 'link')), `${d}/b`);

  const cleanup = await sftpBatch([`rm ${d}/link`, `rm ${d}/b`, `rmdir ${d}`]);
  assert.equal(cleanup.code, 0, cleanup.stderr);
  assert.equal(existsSync(d), false);
  await settled();

  const ops = opsSince(mark);
  const expected: [string, string | null, string | null][] = [
    ['mkdir', d, null],
    ['open-write', `${d}/a`, null],
    ['close', `${d}/a`, null],
    ['rename', `${d}/a`, `${d}/b`],
    ['symlink', `${d}/link`, `${d}/b`],
    ['setstat', `${d}/b`, null],
    // sftp's ls names the directory with a trailing slash.
    ['opendir', `${d}/`, null],
    ['readdir', `${d}/`, null],
    ['close', `${d}/`, null],
    ['remove', `${d}/link`, null],
    ['remove', `${d}/b`, null],
    ['rmdir', d, null],
  ];
  // Each expected request appears, in this order, among the client's own look-ups (realpath, stat).
  let at = 0;
  for (const want of expected) {
    const found = ops.findIndex((op, i) => i >= at && JSON.stringify(op) === JSON.stringify(want));
    assert.ok(found >= 0, `${JSON.stringify(want)} after position ${at} in ${JSON.stringify(ops)}`);
    at = found + 1;
  }
  const readdirs = seen.slice(mark).filter((s) => s.op.operation === 'readdir');
  assert.deepEqual(readdirs.at(-1)?.outcome, { outcome: 'ok', errorCode: 'EOF', errorMessage: null, streams: [] });
});

test('a denied put never reaches the target; the agent hears permission denied', { timeout: 60_000 }, async () => {
  const small = join(local, 'secret.txt');
  writeFileSync(small, 'not for the target\n');
  const forbidden = join(remote, 'denied', 'x.txt');
  const mark = seen.length;

  const result = await sftpBatch([`put ${small} ${forbidden}`]);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /denied/i);
  await settled();

  assert.equal(existsSync(forbidden), false, 'the denied file is not on disk');
  const attempt = seen.slice(mark).find((s) => s.op.operation === 'open-write');
  assert.equal(attempt?.op.path, forbidden);
  assert.equal(attempt?.allowed, false);
  assert.deepEqual(attempt?.outcome, {
    outcome: 'denied',
    errorCode: 'AG_ERR_POLICY_DENIED',
    errorMessage: 'denied by test policy',
    streams: [],
  });
  assert.equal(
    seen.slice(mark).some((s) => s.op.operation === 'write'),
    false,
  );
});
