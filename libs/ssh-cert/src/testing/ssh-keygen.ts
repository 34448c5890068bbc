// The real ssh-keygen in a temporary directory, for interoperability tests: what it makes must
// parse here, and what is made here it must accept. TZ=UTC so -L prints times in UTC.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A fixed search path: libraries never read process.env, and ssh-keygen lives in one of these.
const KEYGEN_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface Keygen {
  dir: string;
  /** Runs ssh-keygen with `args` in the directory; returns stdout. Throws on a non-zero exit (stderr in the message). */
  run(args: string[]): string;
  /** A new passwordless Ed25519 key pair named `name`; returns its public key line. */
  newKey(name: string): string;
  read(name: string): string;
  write(name: string, text: string): string;
  cleanup(): void;
}

export function keygen(): Keygen {
  const dir = mkdtempSync(join(tmpdir(), 'ag-ssh-cert-'));
  const run = (args: string[]): string => {
    try {
      return execFileSync('ssh-keygen', args, { cwd: dir, env: { PATH: KEYGEN_PATH, TZ: 'UTC' }, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`ssh-keygen ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
    }
  };
  return {
    dir,
    run,
    newKey(name) {
      run(['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', name]);
      return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
    },
    read: (name) => readFileSync(join(dir, name), 'utf8'),
    write(name, text) {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The fields of `ssh-keygen -L` output, as printed. */
export interface ListedCertificate {
  type: string;
  signingCa: string;
  keyId: string;
  serial: string;
  valid: string;
  principals: string[];
  criticalOptions: string[];
  extensions: string[];
}

/** Parses `ssh-keygen -L -f <cert>` output: `Name: value` lines, lists indented below their name. */
export function parseListing(text: string): ListedCertificate {
  const fields = new Map<string, string>();
  const lists = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of text.split('\n').slice(1)) {
    const field = /^ {8}([A-Za-z ]+):(?: (.*))?$/.exec(line);
    if (field?.[1] !== undefined) {
      current = field[1];
      fields.set(current, (field[2] ?? '').trim());
      lists.set(current, []);
    } else if (current !== undefined && /^ {16}\S/.test(line)) {
      lists.get(current)?.push(line.trim());
    }
  }
  const field = (name: string): string => fields.get(name) ?? '';
  return {
    type: field('Type'),
    signingCa: field('Signing CA'),
    keyId: field('Key ID'),
    serial: field('Serial'),
    valid: field('Valid'),
    principals: lists.get('Principals') ?? [],
    criticalOptions: lists.get('Critical Options') ?? [],
    extensions: lists.get('Extensions') ?? [],
  };
}
