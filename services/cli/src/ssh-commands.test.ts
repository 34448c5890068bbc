// `agentgate ssh login`: file naming, endpoints, the answer's checks, what is printed, and one
// run against a fake certificate API (injected fetch) with the real ssh-keygen in a temp dir.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { isGatewayError } from '@agentgate/errors';
import { loadConfig } from './config.js';
import { EXIT } from './exit-codes.js';
import {
  issuedCertificate,
  keyFiles,
  keyPath,
  loginSummary,
  registerSsh,
  shellWord,
  sshCommand,
  sshEndpoints,
  type IssuedCertificate,
} from './ssh-commands.js';

const CERT = 'ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t alice';
const ISSUED: IssuedCertificate = {
  certificate: CERT,
  validBeforeSec: 1_740_834_000,
  keyId: 'alice',
  principals: ['web', 'db'],
  caFingerprint: 'SHA256:abc',
};

test('key files: ~/.agentgate/ssh/id_ed25519 by default, ~/ expanded, relative to the working directory', () => {
  assert.equal(keyPath(undefined, '/home/a', '/w'), '/home/a/.agentgate/ssh/id_ed25519');
  assert.equal(keyPath('~/k/id', '/home/a', '/w'), '/home/a/k/id');
  assert.equal(keyPath('keys/id', '/home/a', '/w'), '/w/keys/id');
  assert.equal(keyPath('/abs/id', '/home/a', '/w'), '/abs/id');
  assert.deepEqual(keyFiles('/k/id_ed25519'), {
    key: '/k/id_ed25519',
    publicKey: '/k/id_ed25519.pub',
    certificate: '/k/id_ed25519-cert.pub',
  });
});

test('endpoints: --url, else AG_SSH_CERT_URL, else the local stack; the ingress from AG_SSH_INGRESS_*', () => {
  assert.deepEqual(sshEndpoints({}, undefined), { certUrl: 'http://127.0.0.1:18083', host: '127.0.0.1', port: 12222 });
  assert.equal(sshEndpoints({ AG_SSH_CERT_URL: 'http://c:1/' }, undefined).certUrl, 'http://c:1');
  assert.equal(sshEndpoints({ AG_SSH_CERT_URL: 'http://c:1' }, 'https://d:2//').certUrl, 'https://d:2');
  assert.deepEqual(sshEndpoints({ AG_SSH_INGRESS_HOST: 'gw', AG_SSH_INGRESS_PORT: '2222' }, undefined), {
    certUrl: 'http://127.0.0.1:18083',
    host: 'gw',
    port: 2222,
  });
  assert.throws(
    () => sshEndpoints({ AG_SSH_INGRESS_PORT: 'x' }, undefined),
    (e) => isGatewayError(e, 'AG_ERR_CONFIG_INVALID'),
  );
});

test("the API's answer is checked before anything is written", () => {
  assert.deepEqual(issuedCertificate({ ...ISSUED, certificate: `${CERT}\n` }), ISSUED);
  const bad = [
    null,
    [],
    { ...ISSUED, certificate: 'ssh-ed25519 AAAA' },
    { ...ISSUED, certificate: `${CERT}\nssh-ed25519 AAAA evil` },
    { ...ISSUED, validBeforeSec: '1' },
    { ...ISSUED, keyId: undefined },
    { ...ISSUED, principals: ['web', 1] },
    { ...ISSUED, caFingerprint: null },
  ];
  for (const value of bad)
    assert.throws(
      () => issuedCertificate(value),
      (e) => isGatewayError(e, 'AG_ERR_PROTOCOL_VIOLATION'),
      JSON.stringify(value),
    );
});

test('the ssh command quotes what a shell would split', () => {
  assert.equal(shellWord('/home/a/.agentgate/ssh/id_ed25519'), '/home/a/.agentgate/ssh/id_ed25519');
  assert.equal(shellWord("/my keys/it's"), "'/my keys/it'\\''s'");
  assert.equal(sshCommand('/k/id', 'web', { host: '127.0.0.1', port: 12222 }), 'ssh -i /k/id -p 12222 web@127.0.0.1');
  assert.equal(sshCommand('/k k/id', 'a b', { host: 'h', port: 1 }), "ssh -i '/k k/id' -p 1 'a b@h'");
});

test('the summary names key id, principals, expiry and the command', () => {
  const text = loginSummary(ISSUED, '/k/id', { certUrl: 'x', host: '127.0.0.1', port: 12222 }, (ISSUED.validBeforeSec - 3600) * 1000);
  assert.match(text, /certificate written to \/k\/id-cert\.pub/);
  assert.match(text, /key id +alice/);
  assert.match(text, /principals +web, db/);
  assert.match(text, /expires +2025-03-01 13:00:00\.000 UTC \(in 60 min\)/);
  assert.match(text, /ssh -i \/k\/id -p 12222 web@127\.0\.0\.1/);
});

interface Sent {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

async function cli(argv: string[], env: Record<string, string>, answer: (s: Sent) => { status: number; body: unknown }) {
  let stdout = '';
  let stderr = '';
  let exit: number = EXIT.ok;
  const sent: Sent[] = [];
  const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const s = {
      method: init?.method ?? 'GET',
      url: String(input),
      authorization: headers['authorization'],
      body: JSON.parse(String(init?.body)),
    };
    sent.push(s);
    const a = answer(s);
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const io = { out: (t: string) => (stdout += t), err: (t: string) => (stderr += t) };
  const program = new Command('agentgate').configureOutput({ writeOut: io.out, writeErr: io.err }).exitOverride();
  registerSsh(program, {
    io,
    env,
    configOf: () => loadConfig(env, '/repo'),
    setExit: (c) => (exit = c),
    fetch: fakeFetch,
    now: () => new Date((ISSUED.validBeforeSec - 600) * 1000),
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    exit = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  return { stdout, stderr, exit, sent };
}

test('ssh login makes the key pair (0600), posts its public key with the token, writes <key>-cert.pub', async () => {
  const home = mkdtempSync(join(tmpdir(), 'ag-ssh-login-'));
  try {
    const env = { HOME: home, AGENTGATE_TOKEN: 'tok-alice', AG_SSH_CERT_URL: 'http://certs.test:9' };
    const r = await cli(['ssh', 'login'], env, () => ({ status: 201, body: ISSUED }));
    assert.equal(r.exit, EXIT.ok, r.stderr);
    const files = keyFiles(join(home, '.agentgate/ssh/id_ed25519'));
    assert.equal(statSync(files.key).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.agentgate/ssh')).mode & 0o777, 0o700);
    const publicKey = readFileSync(files.publicKey, 'utf8').trim();
    assert.match(publicKey, /^ssh-ed25519 AAAA\S+ agentgate$/);
    assert.deepEqual(r.sent, [
      { method: 'POST', url: 'http://certs.test:9/v1/ssh/certificates', authorization: 'Bearer tok-alice', body: { publicKey } },
    ]);
    assert.equal(readFileSync(files.certificate, 'utf8'), `${CERT}\n`);
    assert.match(r.stdout, new RegExp(`ssh -i ${files.key} -p 12222 web@127\\.0\\.0\\.1`));
    assert.match(r.stderr, /new key pair/);

    // A second login keeps the key pair and replaces the certificate.
    const again = await cli(['ssh', 'login', '--json'], env, () => ({ status: 201, body: { ...ISSUED, certificate: `${CERT}2` } }));
    assert.equal(again.exit, EXIT.ok, again.stderr);
    assert.equal(readFileSync(files.publicKey, 'utf8').trim(), publicKey);
    assert.equal(readFileSync(files.certificate, 'utf8'), `${CERT}2\n`);
    assert.equal(JSON.parse(again.stdout).certificate_file, files.certificate);
    assert.equal(again.stderr, '');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('ssh login without a token, or refused by the API, writes no certificate and says why', async () => {
  const home = mkdtempSync(join(tmpdir(), 'ag-ssh-login-'));
  try {
    const key = join(home, 'id');
    writeFileSync(key, 'not read', { mode: 0o600 });
    writeFileSync(`${key}.pub`, 'ssh-ed25519 AAAA me\n');
    const none = await cli(['ssh', 'login', '--key', key], { HOME: home }, () => assert.fail('no request without a token'));
    assert.equal(none.exit, EXIT.failure);
    assert.match(none.stderr, /AG_ERR_AUTH_REQUIRED/);

    const env = { HOME: home, AGENTGATE_TOKEN: 'tok' };
    const refused = await cli(['ssh', 'login', '--key', key], env, () => ({
      status: 400,
      body: { type: 't', title: 't', status: 400, detail: 'ssh-rsa keys are not accepted', code: 'AG_ERR_SSH_KEY_UNSUPPORTED' },
    }));
    assert.equal(refused.exit, EXIT.failure);
    assert.match(refused.stderr, /agentgate ssh login: AG_ERR_SSH_KEY_UNSUPPORTED: ssh-rsa keys are not accepted/);
    assert.throws(() => statSync(keyFiles(key).certificate));

    const garbled = await cli(['ssh', 'login', '--key', key], env, () => ({ status: 201, body: { certificate: 'x' } }));
    assert.equal(garbled.exit, EXIT.failure);
    assert.match(garbled.stderr, /AG_ERR_PROTOCOL_VIOLATION/);
    assert.throws(() => statSync(keyFiles(key).certificate));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
