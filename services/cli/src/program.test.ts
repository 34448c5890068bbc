// The command line itself, without the stack: every command's help, refusal of unknown flags
// and commands with exit code 2, --version. Most cases drive `run` in-process; a few spawn the
// real entry (bin/agentgate.js) to prove the process exits with the same codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMANDS, run } from './program.js';

const BIN = fileURLToPath(new URL('../bin/agentgate.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// Nothing the commands need is reachable here: any attempt to talk to the stack fails fast.
const ENV = {
  AG_CLICKHOUSE_URL: 'http://127.0.0.1:9',
  AG_KAFKA_BROKERS: '127.0.0.1:9',
  AG_REGISTRY_URL: 'http://127.0.0.1:9',
  AG_DEV_IDP_ISSUER: 'http://127.0.0.1:9',
  AG_DEV_IDP_CLIENTS_FILE: '/nonexistent/clients.json',
};

async function cli(...argv: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { out: (s) => (stdout += s), err: (s) => (stderr += s) },
    env: ENV,
    repoRoot: fileURLToPath(new URL('../../../', import.meta.url)),
    version: VERSION,
  });
  return { code, stdout, stderr };
}

/** The smallest valid invocation of each command, so a flag test is about the flag alone. */
const VALID: Record<(typeof COMMANDS)[number], string[]> = {
  sessions: ['sessions'],
  'verify-chain': ['verify-chain'],
  kill: ['kill', '--session', '00000000-0000-4000-8000-000000000000'],
  token: ['token', 'demo-agent'],
  whoami: ['whoami'],
  connections: ['connections'],
  psql: ['psql', 'demo', '--as', 'demo-agent'],
  replay: ['replay', '00000000-0000-4000-8000-000000000000'],
  report: ['report', '--since', '24h', '--format', 'json'],
  verify: ['verify', '--since', '24h'],
  export: ['export', '--since', '24h', '--out', '/nonexistent/export.jsonl'],
};

for (const name of COMMANDS) {
  test(`${name}: --help and -h exit 0, print to stdout and name the command`, async () => {
    for (const flag of ['--help', '-h']) {
      const r = await cli(name, flag);
      assert.equal(r.code, 0, `${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: agentgate ${name} `), `${name} ${flag}`);
      assert.match(r.stdout, /Examples:/);
      assert.equal(r.stderr, '');
    }
    const viaHelp = await cli('help', name);
    assert.equal(viaHelp.code, 0);
    assert.match(viaHelp.stdout, new RegExp(`^Usage: agentgate ${name} `));
  });

  test(`${name}: an unknown flag is refused with exit code 2 and nothing runs`, async () => {
    const r = await cli(...VALID[name], '--no-such-flag');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown option '--no-such-flag'/);
    assert.match(r.stderr, new RegExp(`agentgate ${name} --help|after --`));
    assert.equal(r.stdout, '');
  });
}

test('commands that print data take --json; every command is listed in the top-level help', async () => {
  const help = (await cli('--help')).stdout;
  for (const name of COMMANDS) {
    assert.match(help, new RegExp(`^  ${name} `, 'm'), name);
    const own = (await cli(name, '--help')).stdout;
    // psql runs psql; report chooses JSON among its formats (--format json).
    if (name !== 'psql' && name !== 'report') assert.match(own, /^ {2}--json +print one JSON document/m, `${name} --help lists --json`);
  }
});

test('--version and -V print the package version', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await cli(flag);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${VERSION}\n`);
  }
});

test('an unknown command, a missing command and a stray argument are usage errors (2)', async () => {
  const unknown = await cli('sesions');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'sesions'/);
  assert.match(unknown.stderr, /Did you mean sessions\?/);
  const none = await cli();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^Usage: agentgate/);
  assert.equal(none.stdout, '');
  assert.equal((await cli('sessions', 'stray')).code, 2);
});

test('invalid values are usage errors (2) naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['sessions', '--limit', '0'], /--limit must be an integer from 1 to 100000/],
    [['verify-chain', '--limit', 'ten'], /--limit must be an integer/],
    [['kill', '--session', 'not-a-uuid'], /a session id is a UUID/],
    [['kill'], /required option '--session <id>'/],
    [['token'], /missing required argument 'identity'/],
    [['token', 'demo-agent', '--ttl', '0'], /--ttl must be an integer from 1 to 86400/],
    [['token', 'demo-agent', '--via', 'planner'], /--via needs --on-behalf-of/],
    [['psql', 'demo'], /required option '--as <identity>'/],
    [['psql', 'demo', '--as', 'demo-agent', '-c', 'select 1'], /psql's own options go after --/],
  ];
  for (const [argv, message] of cases) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, argv.join(' '));
  }
});

test('kill has no --as: the requester comes from a verified token only', async () => {
  const r = await cli(...VALID.kill, '--as', 'alice');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '--as'/);
});

test('without a token, kill and whoami refuse with a hint to get one (exit 1, no stack trace)', async () => {
  for (const argv of [VALID.kill, VALID.whoami]) {
    const r = await cli(...argv);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /AG_ERR_AUTH_REQUIRED/);
    assert.match(r.stderr, /agentgate token <identity>/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');
  }
});

test('an unreachable component is named, with a pointer to npm run status', async () => {
  const r = await cli('sessions');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ClickHouse at http:\/\/127\.0\.0\.1:9 is unreachable/);
  assert.match(r.stderr, /npm run status/);
  assert.doesNotMatch(r.stderr, /\n\s+at |\[ERROR\]/);
});

test('the built entry exits with the same codes', () => {
  const node = (...argv: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', env: { ...process.env, ...ENV } });
  const version = node('--version');
  assert.equal(version.status, 0);
  assert.equal(version.stdout, `${VERSION}\n`);
  const help = node('verify-chain', '--help');
  assert.equal(help.status, 0);
  assert.match(String(help.stdout), /^Usage: agentgate verify-chain/);
  const unknown = node('verify-chain', '--bogus');
  assert.equal(unknown.status, 2);
  assert.match(String(unknown.stderr), /unknown option '--bogus'/);
  assert.equal(node('bogus').status, 2);
  // Client libraries log to the process's own stderr, which only a real process shows.
  const down = node('sessions');
  assert.equal(down.status, 1);
  assert.equal(String(down.stderr).trim().split('\n').length, 2, `one message and one hint, got:\n${String(down.stderr)}`);
  assert.match(String(down.stderr), /^agentgate sessions: ClickHouse at http:\/\/127\.0\.0\.1:9 is unreachable \(ECONNREFUSED\)/);
});
