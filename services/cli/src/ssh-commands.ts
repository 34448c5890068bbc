// `agentgate ssh login`: trades the caller's access token for a short-lived OpenSSH user
// certificate from the SSH ingress's certificate API, so plain `ssh` works afterwards. The key
// pair stays on this machine (made with ssh-keygen when missing); only its public half is sent.
// The certificate is written beside the key as `<key>-cert.pub`, where ssh finds it by itself.
// Declared apart from program.ts, which wires it in.
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { EnvReader, type EnvMap } from '@agentgate/config';
import { GatewayError } from '@agentgate/errors';
import { formatProblem, problemExitCode, relative } from './approvals-format.js';
import { callerToken } from './caller.js';
import type { CliConfig } from './config.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { printJson, utc, type CliIo } from './output.js';
import { restCaller, serviceUrl, type RestCall } from './rest-call.js';

/** The local stack's certificate API, when neither --url nor AG_SSH_CERT_URL says otherwise. */
export const DEFAULT_SSH_CERT_URL = 'http://127.0.0.1:18083';
/** The key pair `ssh login` uses unless --key names another, under the home directory. */
export const DEFAULT_KEY = '.agentgate/ssh/id_ed25519';
const CERT_TYPE = 'ssh-ed25519-cert-v01@openssh.com';

export interface SshCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  env: EnvMap;
  setExit(code: number): void;
  /** Injected by tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Injected by tests: runs ssh-keygen with these arguments. */
  sshKeygen?(args: readonly string[]): Promise<void>;
  now?(): Date;
}

/** Where the SSH ingress is and where its certificate API answers (the environment the stack writes). */
export interface SshEndpoints {
  certUrl: string;
  host: string;
  port: number;
}

/** --url, else AG_SSH_CERT_URL, else the local stack's; host and port of the ingress from AG_SSH_INGRESS_*. */
export function sshEndpoints(env: EnvMap, url: string | undefined): Readonly<SshEndpoints> {
  const r = new EnvReader(env);
  const fromEnv = r.url('AG_SSH_CERT_URL', DEFAULT_SSH_CERT_URL);
  return r.done({
    certUrl: (url ?? fromEnv).replace(/\/+$/, ''),
    host: r.string('AG_SSH_INGRESS_HOST', '127.0.0.1'),
    port: r.int('AG_SSH_INGRESS_PORT', 12222, { min: 1, max: 65535 }),
  });
}

/** The private key's path: --key (a leading ~/ is the home directory), else ~/.agentgate/ssh/id_ed25519. */
export function keyPath(flag: string | undefined, home: string, cwd: string): string {
  if (flag === undefined) return join(home, DEFAULT_KEY);
  if (flag === '~' || flag.startsWith('~/')) return join(home, flag.slice(1));
  return isAbsolute(flag) ? flag : resolve(cwd, flag);
}

/** The files of a key pair as OpenSSH names them: `<key>.pub`, and `<key>-cert.pub`, which ssh -i <key> loads too. */
export function keyFiles(key: string): { key: string; publicKey: string; certificate: string } {
  return { key, publicKey: `${key}.pub`, certificate: `${key}-cert.pub` };
}

/** The certificate API's answer, checked. */
export interface IssuedCertificate {
  certificate: string;
  validBeforeSec: number;
  keyId: string;
  principals: string[];
  caFingerprint: string;
}

/** Reads the answer of POST /v1/ssh/certificates; AG_ERR_PROTOCOL_VIOLATION when it is not one. */
export function issuedCertificate(value: unknown): IssuedCertificate {
  const bad = (what: string): never => {
    throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `the SSH certificate API answered without ${what}; is --url right?`);
  };
  const v = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : bad('a JSON object')) as Record<
    string,
    unknown
  >;
  const certificate = v['certificate'];
  // One line of the certificate type: it is written to a file ssh reads, so nothing else may ride along.
  if (typeof certificate !== 'string' || !certificate.startsWith(`${CERT_TYPE} `) || /[\r\n\0]/.test(certificate.trimEnd()))
    return bad(`a ${CERT_TYPE} line`);
  const validBeforeSec = v['validBeforeSec'];
  if (typeof validBeforeSec !== 'number' || !Number.isSafeInteger(validBeforeSec)) return bad('validBeforeSec');
  const keyId = typeof v['keyId'] === 'string' ? v['keyId'] : bad('keyId');
  const principals = v['principals'];
  if (!Array.isArray(principals) || !principals.every((p) => typeof p === 'string')) return bad('principals');
  const caFingerprint = typeof v['caFingerprint'] === 'string' ? v['caFingerprint'] : bad('caFingerprint');
  return { certificate: certificate.trimEnd(), validBeforeSec, keyId, principals: [...principals], caFingerprint };
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The ssh command line that logs in to `connection` with the certified key. */
export function sshCommand(key: string, connection: string, endpoints: Pick<SshEndpoints, 'host' | 'port'>): string {
  return ['ssh', '-i', shellWord(key), '-p', String(endpoints.port), shellWord(`${connection}@${endpoints.host}`)].join(' ');
}

/** The --json document. */
export function loginDocument(issued: IssuedCertificate, key: string, endpoints: SshEndpoints): Record<string, unknown> {
  return {
    key_file: key,
    certificate_file: keyFiles(key).certificate,
    key_id: issued.keyId,
    principals: issued.principals,
    valid_before: new Date(issued.validBeforeSec * 1000).toISOString(),
    ca_fingerprint: issued.caFingerprint,
    ssh_commands: issued.principals.map((p) => sshCommand(key, p, endpoints)),
  };
}

/** What `ssh login` prints for a person. */
export function loginSummary(issued: IssuedCertificate, key: string, endpoints: SshEndpoints, nowMs: number): string {
  const expiry = new Date(issued.validBeforeSec * 1000);
  const [first = '<connection>'] = issued.principals;
  return [
    `certificate written to ${keyFiles(key).certificate}`,
    `  key id      ${issued.keyId}`,
    `  principals  ${issued.principals.join(', ')}`,
    `  expires     ${utc(expiry)} UTC (${relative(expiry, nowMs)})`,
    `  signed by   ${issued.caFingerprint}`,
    '',
    'connect with:',
    `  ${sshCommand(key, first, endpoints)}`,
    ...(issued.principals.length > 1 ? [`  (or another principal in place of ${first})`] : []),
    '',
  ].join('\n');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

const execFileAsync = promisify(execFile);

async function runSshKeygen(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('ssh-keygen', [...args], { timeout: 30_000 });
  } catch (cause) {
    const e = cause as { code?: string; stderr?: string; message: string };
    const why = e.code === 'ENOENT' ? 'ssh-keygen is not installed (it comes with the OpenSSH client)' : e.stderr?.trim() || e.message;
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `ssh-keygen ${args.join(' ')} failed: ${why}`, { cause });
  }
}

/** Makes the key pair when it is missing (private key 0600 in a 0700 directory); returns the public key line. */
async function ensureKeyPair(key: string, sshKeygen: (args: readonly string[]) => Promise<void>, io: CliIo): Promise<string> {
  const files = keyFiles(key);
  if (!(await exists(files.key))) {
    await mkdir(dirname(files.key), { recursive: true, mode: 0o700 });
    await sshKeygen(['-t', 'ed25519', '-N', '', '-q', '-C', 'agentgate', '-f', files.key]);
    await chmod(files.key, 0o600);
    io.err(`new key pair ${files.key} (ed25519, no passphrase)\n`);
  } else if (!(await exists(files.publicKey))) {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `${files.publicKey} is missing; recreate it with: ssh-keygen -y -f ${shellWord(files.key)} > ${shellWord(files.publicKey)}`,
    );
  }
  try {
    return (await readFile(files.publicKey, 'utf8')).trim();
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read ${files.publicKey}`, { cause });
  }
}

export interface SshLoginOptions {
  key: string;
  endpoints: SshEndpoints;
  tokenFile?: string | undefined;
  json: boolean;
}

/** Runs `ssh login`; returns the exit code (problems from the API are printed, other failures thrown). */
export async function sshLogin(
  config: Readonly<CliConfig>,
  options: SshLoginOptions,
  deps: { io: CliIo; fetch?: typeof fetch | undefined; sshKeygen: (args: readonly string[]) => Promise<void>; now: () => Date },
): Promise<number> {
  const token = await callerToken(config, options.tokenFile);
  if (token === null)
    throw new GatewayError('AG_ERR_AUTH_REQUIRED', 'ssh login needs an access token in AGENTGATE_TOKEN (or --token-file)');
  const publicKey = await ensureKeyPair(options.key, deps.sshKeygen, deps.io);
  const call: RestCall = restCaller({
    baseUrl: options.endpoints.certUrl,
    token,
    timeoutMs: 15_000,
    name: 'the SSH certificate API',
    unreachable: 'AG_ERR_UPSTREAM_UNAVAILABLE',
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  });
  const result = await call('POST', '/v1/ssh/certificates', { publicKey });
  if (!result.ok) {
    deps.io.err(formatProblem('ssh login', result.problem));
    return problemExitCode(result.problem);
  }
  const issued = issuedCertificate(result.value);
  // Written whole, then renamed over the old one: ssh never reads half a certificate.
  const { certificate } = keyFiles(options.key);
  const partial = `${certificate}.partial`;
  await writeFile(partial, `${issued.certificate}\n`, { mode: 0o644 });
  await rename(partial, certificate);
  if (options.json) printJson(deps.io, loginDocument(issued, options.key, options.endpoints));
  else deps.io.out(loginSummary(issued, options.key, options.endpoints, deps.now().getTime()));
  return EXIT.ok;
}

/** Adds `ssh` and its subcommand `login` to the program. */
export function registerSsh(program: Command, ctx: SshCommandContext): Command {
  const parent = program
    .command('ssh')
    .description('SSH through the gateway: `ssh login` gets a short-lived certificate for your token')
    .helpOption('-h, --help', 'show help for this command');

  parent
    .command('login')
    .description('get an OpenSSH certificate for your access token (AGENTGATE_TOKEN), so plain ssh works')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate ssh login --help` for usage)')
    .option('--url <url>', `the certificate API (default: AG_SSH_CERT_URL, else ${DEFAULT_SSH_CERT_URL})`, serviceUrl)
    .option('--key <path>', `the private key; made with ssh-keygen when missing (default ~/${DEFAULT_KEY})`)
    .option('--token-file <path>', 'read the access token from this file instead of AGENTGATE_TOKEN')
    .option('--json', 'print one JSON document on stdout and nothing else')
    .addHelpText(
      'after',
      '\nExamples:\n  export AGENTGATE_TOKEN=$(npx agentgate token demo-agent)\n  npx agentgate ssh login\n' +
        `  ssh -i ~/${DEFAULT_KEY} -p 12222 web@127.0.0.1\n\n` +
        'The certificate is written to <key>-cert.pub, is valid for the connections your token may use\n' +
        '(its principals) and expires with the token at the latest. Run it again for a fresh one.\n',
    )
    .action(async (o: { url?: string; key?: string; tokenFile?: string; json?: boolean }) => {
      try {
        const endpoints = sshEndpoints(ctx.env, o.url);
        const key = keyPath(o.key, ctx.env['HOME'] ?? homedir(), process.cwd());
        ctx.setExit(
          await sshLogin(
            ctx.configOf(),
            { key, endpoints, tokenFile: o.tokenFile, json: o.json === true },
            { io: ctx.io, fetch: ctx.fetch, sshKeygen: ctx.sshKeygen ?? runSshKeygen, now: ctx.now ?? (() => new Date()) },
          ),
        );
      } catch (error) {
        const { exitCode, text } = describeFailure('ssh login', error);
        ctx.io.err(text);
        ctx.setExit(exitCode);
      }
    });
  return parent;
}
