// The real OpenSSH client (ssh, scp, sftp) against the SSH ingress: the token as the password
// through SSH_ASKPASS (forced, no terminal needed), the ingress's host key pinned in a
// known_hosts file of the test's own.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stack, token } from './stack.js';

const env = process.env;

export const sshStack = Object.freeze({
  ingressPort: Number(env['AG_SSH_INGRESS_PORT'] ?? 12222),
  certApiUrl: env['AG_SSH_CERT_URL'] ?? 'http://127.0.0.1:18083',
  targetPort: Number(env['AG_TARGET_SSH_PORT'] ?? 22222),
  connection: 'web',
  targetUser: 'agentgate-web',
  targetHome: '/home/agentgate-web',
});

export interface SshClientSetup {
  dir: string;
  knownHosts: string;
  /** Environment for ssh/scp/sftp: the askpass script answers with `who`'s token. */
  envFor(who: string): NodeJS.ProcessEnv;
  /** Options every client command takes (port apart: ssh -p, scp/sftp -P). */
  options: string[];
}

export function sshClientSetup(): SshClientSetup {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-ssh-'));
  const hostKey = readFileSync(join(stack.secretsDir, 'ssh-host-ed25519.key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${sshStack.ingressPort} ${hostKey}\n`);
  const askpass = join(dir, 'askpass.sh');
  writeFileSync(askpass, '#!/bin/sh\ncat "$AGENTGATE_TOKEN_FILE"\n');
  chmodSync(askpass, 0o755);
  return {
    dir,
    knownHosts,
    envFor(who) {
      const tokenFile = join(dir, `token-${who}`);
      writeFileSync(tokenFile, `${token(who)}\n`, { mode: 0o600 });
      return { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', AGENTGATE_TOKEN_FILE: tokenFile };
    },
    options: [
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'PreferredAuthentications=password,keyboard-interactive',
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'NumberOfPasswordPrompts=1',
      '-o',
      'ConnectTimeout=10',
      '-F',
      '/dev/null',
    ],
  };
}

/** `ssh web@127.0.0.1 <command>` as `who`. */
export function sshExec(setup: SshClientSetup, who: string, command: string, extra: string[] = []): SpawnSyncReturns<string> {
  return spawnSync('ssh', ['-p', String(sshStack.ingressPort), ...setup.options, ...extra, `${sshStack.connection}@127.0.0.1`, command], {
    encoding: 'utf8',
    env: setup.envFor(who),
    timeout: 60_000,
  });
}

/**
 * Runs a client program (scp, sftp) with the setup's options and port flag `-P`. sftp's own batch
 * mode (-b) turns password prompts off, so sftp reads its commands from `input` instead.
 */
export function sshTool(
  setup: SshClientSetup,
  who: string,
  program: 'scp' | 'sftp',
  args: string[],
  input?: string,
): SpawnSyncReturns<string> {
  return spawnSync(program, ['-P', String(sshStack.ingressPort), ...setup.options, ...args], {
    encoding: 'utf8',
    env: setup.envFor(who),
    timeout: 120_000,
    ...(input === undefined ? {} : { input }),
  });
}

/** A long-running ssh (forwarding) as `who`; the caller kills it. */
export function sshBackground(setup: SshClientSetup, who: string, args: string[]): ReturnType<typeof spawn> {
  return spawn('ssh', ['-p', String(sshStack.ingressPort), ...setup.options, ...args, `${sshStack.connection}@127.0.0.1`], {
    env: setup.envFor(who),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
