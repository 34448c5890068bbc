// The SSH ingress with the real OpenSSH client, sftp, scp and tmux (issue 16): exec decided per
// command, a denied `rm -rf` that never runs (read from the target's file system), SFTP and scp
// both ways checked by digest, `ssh -L` to an allowed and a refused port, an interactive shell
// driven through tmux and replayed from ClickHouse to the same screen, the certificate flow
// (`agentgate ssh login`, then plain ssh; an expired certificate refused), masked output, and
// the session's events in one verifiable chain. The target is this machine's OpenSSH server on
// its own port, logged in as agentgate-web: its files are read here directly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { quoteString } from '@agentgate/clickhouse';
import { encodeUserCertificate } from '@agentgate/ssh-cert';
import { sessionEvents, verifySession } from '../support/audit.js';
import { freePort } from '../support/instances.js';
import { sshBackground, sshClientSetup, sshExec, sshStack, sshTool } from '../support/ssh.js';
import { clickhouse, eventually, ROOT, stack, token, uniqueMarker } from '../support/stack.js';

const BIN = join(ROOT, 'services/cli/bin/agentgate.js');
const AGENT = 'demo-agent';
const setup = sshClientSetup();
const ch = clickhouse();
const db = stack.clickhouseDatabase;
// A folder of this run's own on the target (the target account owns it; tests read it directly).
const remote = `/tmp/${uniqueMarker('agx')}`;
const RAW = ['4111111111111111', 'DE89370400440532013000', '078-05-1120', 'AKIAIOSFODNN7EXAMPLE', 'MIICWwIBAAKBgQDHo2dNIO07KP9JlEedRX2pb'];

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function agentgate(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function rows<T>(query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** The SSH session whose request (or terminal) holds `marker`, once projected. */
function sessionWith(marker: string): Promise<string> {
  return eventually(async () => {
    const found = await rows<{ session_id: string }>(
      `SELECT session_id FROM ${db}.events WHERE event_type IN ('RequestObserved', 'TerminalRecorded') AND payload_json LIKE ${quoteString(`%${marker}%`)} LIMIT 1`,
    );
    return found[0]?.session_id;
  }, 30_000);
}

before(() => {
  const r = sshExec(setup, AGENT, `mkdir -p ${remote}`);
  assert.equal(r.status, 0, `mkdir on the target: ${r.stderr}`);
});

after(async () => {
  spawnSync('rm', ['-rf', remote]);
  rmSync(setup.dir, { recursive: true, force: true });
  await ch.close();
});

test('ssh exec runs an allowed command on the target as the target account', () => {
  const marker = uniqueMarker('hello');
  const r = sshExec(setup, AGENT, `echo ${marker}; id -un`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${marker}\n${sshStack.targetUser}\n`);
  const exit = sshExec(setup, AGENT, 'test -d /nonexistent-dir');
  assert.equal(exit.status, 1, 'the remote exit status reaches the agent');
});

test('a denied rm -rf never runs: the directory is still on the target; an allowed rm does run', () => {
  mkdirSync(`${remote}/keep/sub`, { recursive: true });
  writeFileSync(`${remote}/keep/sub/file`, 'x');
  writeFileSync(`${remote}/plain-file`, 'x');
  spawnSync('chown', ['-R', sshStack.targetUser, remote]);
  const denied = sshExec(setup, AGENT, `rm -rf ${remote}/keep`);
  assert.equal(denied.status, 126, `denied exit status: ${denied.stderr}`);
  assert.match(denied.stderr, /AG_ERR_POLICY_DENIED/);
  assert.equal(existsSync(`${remote}/keep/sub/file`), true, 'the target still has the directory');
  // Hidden the way an agent might hide it: through sh -c, sudo, and a substitution.
  for (const command of [`sh -c 'rm -rf ${remote}/keep'`, `sudo rm -fr ${remote}/keep`, `echo $(rm -r ${remote}/keep)`]) {
    const r = sshExec(setup, AGENT, command);
    assert.equal(r.status, 126, `${command}: ${r.stderr}`);
  }
  assert.equal(existsSync(`${remote}/keep/sub/file`), true, 'none of them ran');
  const allowed = sshExec(setup, AGENT, `rm ${remote}/plain-file`);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.equal(existsSync(`${remote}/plain-file`), false, 'an allowed rm does reach the target');
});

test('cat of the notes file shows only masked forms; the response records the digest of what was sent', async () => {
  const marker = uniqueMarker('notes');
  const r = sshExec(setup, AGENT, `cat ${sshStack.targetHome}/notes.txt; echo ${marker}`);
  assert.equal(r.status, 0, r.stderr);
  for (const value of RAW) assert.equal(r.stdout.includes(value), false, `raw ${value} reached the agent`);
  assert.match(r.stdout, /REDACTED/);
  assert.match(r.stdout, /End of notes\./);
  const session = await sessionWith(marker);
  const response = await eventually(async () => {
    const found = await rows<{ payload_json: string }>(
      `SELECT payload_json FROM ${db}.events WHERE session_id = ${quoteString(session)} AND event_type = 'ResponseObserved' ORDER BY seq DESC LIMIT 1`,
    );
    return found[0];
  }, 30_000);
  const payload = JSON.parse(response.payload_json) as {
    exitStatus: unknown;
    streams: { name: string; bytes: number; sha256: string }[];
    masking: unknown[];
  };
  const stdout = payload.streams.find((s) => s.name === 'stdout');
  assert.equal(stdout?.sha256, sha256(Buffer.from(r.stdout)), 'the recorded digest is that of the bytes the agent got');
  assert.ok(payload.masking.length > 0, 'the detectors that fired are recorded');
});

test('scp and sftp both ways, checked by digest; a put outside the allowed paths is refused and leaves nothing', () => {
  const local = join(setup.dir, 'upload.bin');
  const data = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(local, data);
  const up = sshTool(setup, AGENT, 'scp', [local, `${sshStack.connection}@127.0.0.1:${remote}/scp-up.bin`]);
  assert.equal(up.status, 0, `scp up: ${up.stderr}`);
  assert.equal(sha256(readFileSync(`${remote}/scp-up.bin`)), sha256(data), 'scp upload arrives intact');
  const back = join(setup.dir, 'scp-down.bin');
  const down = sshTool(setup, AGENT, 'scp', [`${sshStack.connection}@127.0.0.1:${remote}/scp-up.bin`, back]);
  assert.equal(down.status, 0, `scp down: ${down.stderr}`);
  assert.equal(sha256(readFileSync(back)), sha256(data), 'scp download arrives intact');

  const got = join(setup.dir, 'sftp-down.bin');
  const commands = [
    `mkdir ${remote}/dir`,
    `put ${local} ${remote}/dir/a.bin`,
    `rename ${remote}/dir/a.bin ${remote}/dir/b.bin`,
    `ls ${remote}/dir`,
    `get ${remote}/dir/b.bin ${got}`,
    '',
  ].join('\n');
  const sftp = sshTool(setup, AGENT, 'sftp', [`${sshStack.connection}@127.0.0.1`], commands);
  assert.equal(sftp.status, 0, `sftp: ${sftp.stderr}`);
  assert.equal(sha256(readFileSync(`${remote}/dir/b.bin`)), sha256(data));
  assert.equal(sha256(readFileSync(got)), sha256(data));

  const outside = `/var/tmp/${uniqueMarker('agx-outside')}.bin`;
  const denied = sshTool(setup, AGENT, 'sftp', [`${sshStack.connection}@127.0.0.1`], `put ${local} ${outside}\n`);
  assert.match(denied.stderr, /[Pp]ermission denied/);
  assert.equal(existsSync(outside), false, 'nothing was written outside the allowed paths');
});

/** Sends PostgreSQL's SSLRequest through a forwarded port: a server answers one byte, S or N. */
function probePostgres(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, 5000);
    socket.on('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
    socket.on('data', (d) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(d.subarray(0, 1).toString('latin1'));
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve('error');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

test('ssh -L reaches an allowed host:port; a refused one gets no connection', async () => {
  const allowedPort = await freePort();
  const refusedPort = await freePort();
  const forward = sshBackground(setup, AGENT, [
    '-N',
    '-L',
    `${allowedPort}:127.0.0.1:${stack.ingressPort}`,
    '-L',
    `${refusedPort}:127.0.0.1:${stack.targetPort}`,
  ]);
  let stderr = '';
  forward.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const answer = await eventually(async () => {
      const a = await probePostgres(allowedPort);
      return a === 'S' || a === 'N' ? a : undefined;
    }, 20_000);
    assert.match(answer, /^[SN]$/, 'the allowed forward reaches PostgreSQL');
    const refused = await probePostgres(refusedPort);
    assert.notEqual(refused, 'S');
    assert.notEqual(refused, 'N');
    await eventually(async () => (/administratively prohibited|open failed/.test(stderr) ? true : undefined), 10_000);
  } finally {
    forward.kill();
  }
});

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', 'agentgate-e2e', '-f', '/dev/null', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const paneLines = (text: string): string[] => {
  const lines = text.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
};

test('an interactive shell through tmux is recorded; its replay ends on the same screen', async () => {
  const marker = uniqueMarker('tty');
  const env = setup.envFor(AGENT);
  const command = [
    `SSH_ASKPASS=${env['SSH_ASKPASS']}`,
    'SSH_ASKPASS_REQUIRE=force',
    'DISPLAY=:0',
    `AGENTGATE_TOKEN_FILE=${env['AGENTGATE_TOKEN_FILE']}`,
    'ssh',
    '-tt',
    '-p',
    String(sshStack.ingressPort),
    ...setup.options,
    `${sshStack.connection}@127.0.0.1`,
  ].join(' ');
  tmux('new-session', '-d', '-s', 'e2e', '-x', '100', '-y', '30', `env ${command}`);
  try {
    tmux('set-option', '-g', 'status', 'off');
    const prompt = await eventually(async () => (/\$\s*$/m.test(tmux('capture-pane', '-p', '-t', 'e2e')) ? true : undefined), 20_000);
    assert.ok(prompt);
    tmux('send-keys', '-t', 'e2e', `printf '%s\\n' ${marker} && ls /`, 'Enter');
    tmux('send-keys', '-t', 'e2e', `cat ${sshStack.targetHome}/notes.txt | head -4`, 'Enter');
    await eventually(async () => (tmux('capture-pane', '-p', '-t', 'e2e').includes('Refund to IBAN') ? true : undefined), 20_000);
    // Settle: the prompt after the last command.
    await new Promise((r) => setTimeout(r, 1000));
    const pane = paneLines(tmux('capture-pane', '-p', '-t', 'e2e'));
    for (const value of RAW) assert.equal(pane.join('\n').includes(value), false, `raw ${value} on the agent's screen`);
    tmux('kill-session', '-t', 'e2e');
    const session = await sessionWith(marker);
    // Every frame projected: the session's close is there.
    await eventually(async () => {
      const closed = await rows<{ n: string }>(
        `SELECT count() AS n FROM ${db}.events WHERE session_id = ${quoteString(session)} AND event_type = 'SessionClosed'`,
      );
      return Number(closed[0]?.n) > 0 ? true : undefined;
    }, 30_000);
    const screen = agentgate(['replay', session, '--screen'], { AGENTGATE_TOKEN: '' });
    assert.equal(screen.status, 0, screen.stderr);
    assert.deepEqual(paneLines(screen.stdout), pane, 'the replay ends on the screen tmux showed');
    const castFile = join(setup.dir, 'session.cast');
    const cast = agentgate(['replay', session, '--cast', castFile]);
    assert.equal(cast.status, 0, cast.stderr);
    const [header, ...events] = readFileSync(castFile, 'utf8').trim().split('\n');
    assert.equal(JSON.parse(header ?? '{}').version, 2);
    assert.ok(
      events.some((e) => e.includes(marker)),
      'the cast holds the typed command',
    );
    const verification = verifySession(await sessionEvents(ch, db, session));
    assert.equal(verification.ok, true, JSON.stringify(verification));
  } finally {
    spawnSync('tmux', ['-L', 'agentgate-e2e', 'kill-server']);
  }
});

test('agentgate ssh login, then plain ssh with the certificate; expired and foreign certificates are refused', () => {
  const key = join(setup.dir, 'id_agent');
  const login = agentgate(['ssh', 'login', '--key', key], { AGENTGATE_TOKEN: token(AGENT) });
  assert.equal(login.status, 0, login.stderr);
  assert.equal(existsSync(`${key}-cert.pub`), true);
  // Plain ssh: no password, no prompt (BatchMode), the key and its certificate beside it.
  const withCert = (): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } =>
    spawnSync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-p',
        String(sshStack.ingressPort),
        '-o',
        `UserKnownHostsFile=${setup.knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        'PreferredAuthentications=publickey',
        '-o',
        'IdentitiesOnly=yes',
        '-i',
        key,
        `${sshStack.connection}@127.0.0.1`,
        'echo cert-ok',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    ) as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
  const ok = withCert();
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'cert-ok\n');

  // The same key, certified by the real CA but expired an hour ago.
  const ca = createPrivateKey(readFileSync(join(stack.secretsDir, 'ssh-ca.key')));
  const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  const good = readFileSync(`${key}-cert.pub`, 'utf8');
  const now = Math.floor(Date.now() / 1000);
  const expired = encodeUserCertificate({
    ca,
    publicKey,
    serial: 7n,
    keyId: 'demo-agent',
    principals: [sshStack.connection],
    validAfterSec: now - 7200,
    validBeforeSec: now - 3600,
    extensions: { 'permit-pty': '' },
  });
  writeFileSync(`${key}-cert.pub`, `${expired}\n`);
  const refused = withCert();
  assert.equal(refused.status, 255, 'an expired certificate does not log in');
  assert.match(refused.stderr, /Permission denied/);
  writeFileSync(`${key}-cert.pub`, good);
  assert.equal(withCert().status, 0, 'the valid certificate still logs in (the refusal was the expiry)');
});

/** A running `ssh web@... <command>` with the given token; resolves with its exit status and stderr. */
function sshRunning(tokenValue: string, command: string): Promise<{ status: number | null; stderr: string; ms: number }> {
  const tokenFile = join(setup.dir, `token-${uniqueMarker('t')}`);
  writeFileSync(tokenFile, `${tokenValue}\n`, { mode: 0o600 });
  const env = { ...setup.envFor(AGENT), AGENTGATE_TOKEN_FILE: tokenFile };
  const started = Date.now();
  const child = spawn('ssh', ['-p', String(sshStack.ingressPort), ...setup.options, `${sshStack.connection}@127.0.0.1`, command], { env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr, ms: Date.now() - started })));
}

test('an admin kill and the token expiry end live SSH sessions, the agent told why', async () => {
  const marker = uniqueMarker('kill');
  const killedRun = sshRunning(token(AGENT), `sleep 60; echo ${marker}`);
  const session = await sessionWith(marker);
  const kill = agentgate(['kill', '--session', session, '--reason', 'e2e', '--json'], { AGENTGATE_TOKEN: token('erin') });
  assert.equal(kill.status, 0, kill.stderr);
  const killed = await killedRun;
  assert.equal(killed.status, 255);
  assert.match(killed.stderr, /AG_ERR_SESSION_KILLED/);
  assert.ok(killed.ms < 30_000, 'the kill ended the session long before its command would have');

  const expiring = await sshRunning(token(AGENT, ['--ttl', '6']), 'sleep 60');
  assert.equal(expiring.status, 255);
  assert.match(expiring.stderr, /AG_ERR_TOKEN_EXPIRED/);
  assert.ok(expiring.ms < 20_000, `the session outlived its token: ${expiring.ms} ms`);
});
