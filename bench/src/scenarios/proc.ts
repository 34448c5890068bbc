// Child processes of the scenarios (psql, pgbench), timed, with stdout hashed as it streams.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

export interface ProcResult {
  code: number | null;
  /** stdout, unless only its hash was kept. */
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stdoutSha256: string;
  ms: number;
}

/** Runs `command` to completion; `keepStdout: false` keeps only the size and SHA-256 of stdout (bulk output). */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; keepStdout?: boolean } = {},
): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let stdout = '';
    let stderr = '';
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
      if (options.keepStdout !== false) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout, stderr, stdoutBytes: bytes, stdoutSha256: hash.digest('hex'), ms: performance.now() - t }),
    );
  });
}

/** Like run(), but throws with the output's tail when the command fails. */
export async function runOk(command: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<ProcResult> {
  const r = await run(command, args, options);
  if (r.code !== 0)
    throw new Error(`${command} ${args.join(' ').slice(0, 200)} failed (${r.code}):\n${(r.stdout + r.stderr).slice(-2000)}`);
  return r;
}
