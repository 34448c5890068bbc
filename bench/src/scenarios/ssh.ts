// The SSH ingress beside its direct baseline: one connection each, then sequential
// `exec('true')` round trips (channel open, exec, exit status, channel close). Through the gateway
// as demo-agent on connection `web` (the token as the password, the ingress's host key pinned);
// directly to the target as agentgate-web with the stack's key for it (the bench acts as the
// stack's administrator), the target's host key pinned.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2, { type ConnectConfig } from 'ssh2';
import { type LatencyStats, summarize } from '../scenario-stats.js';
import { type BenchContext, tokenFor } from './context.js';
import { publicKeyBlob } from './host-key.js';
import { timeSequential } from './sequential.js';

// ssh2 is CommonJS: its classes hang off the default export.
const { Client } = ssh2;
type SshClient = InstanceType<typeof Client>;

export interface SshRun {
  path: 'agentgate' | 'direct';
  /** user@host:port, as logged in. */
  login: string;
  /** Connection set-up (TCP, key exchange, authentication) of the one connection, ms. */
  connectMs: number;
  stats: LatencyStats;
}

export interface SshResult {
  runs: SshRun[];
  warmup: number;
}

function connect(config: ConnectConfig, hostKey: Buffer): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyMismatch = false;
    const fail = (err: Error): void => {
      client.end();
      reject(hostKeyMismatch ? new Error(`${config.host}:${config.port} presented a host key other than the pinned one`) : err);
    };
    client.once('ready', () => {
      // Node sockets leave Nagle on: the exec request would wait for the ACK of the channel
      // open (delayed ACK, ~40 ms), measuring TCP timers instead of either path.
      client.setNoDelay(true);
      client.removeListener('error', fail);
      // A failure after this surfaces in the exec that meets it.
      client.on('error', () => {});
      resolve(client);
    });
    client.once('error', fail);
    client.connect({
      ...config,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => {
        hostKeyMismatch = !key.equals(hostKey);
        return !hostKeyMismatch;
      },
    });
  });
}

/** One `true` on its own channel; resolves when the channel is closed after exit status 0. */
function execTrue(client: SshClient): Promise<void> {
  return new Promise((resolve, reject) => {
    client.exec('true', (err, stream) => {
      if (err) {
        reject(err);
        return;
      }
      let status: number | null = null;
      let stderr = '';
      stream.on('exit', (code: number | null) => {
        status = code;
      });
      stream.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      stream.on('close', () => {
        if (status === 0) resolve();
        else reject(new Error(`exec true ended with exit status ${status}: ${stderr.slice(0, 300)}`));
      });
      stream.resume();
    });
  });
}

export async function sshLatency(ctx: BenchContext): Promise<SshResult> {
  const n = ctx.quick ? 30 : 100;
  const warmup = 5;
  const targets = [
    {
      path: 'direct' as const,
      config: {
        host: '127.0.0.1',
        port: ctx.targetSshPort,
        username: 'agentgate-web',
        privateKey: readFileSync(join(ctx.secretsDir, 'ssh-target-web.key')),
      },
      hostKeyFile: join(ctx.stackDir, 'data/sshd-target/ssh_host_ed25519_key.pub'),
    },
    {
      path: 'agentgate' as const,
      config: { host: '127.0.0.1', port: ctx.sshIngressPort, username: 'web', password: tokenFor(ctx, 'demo-agent') },
      hostKeyFile: join(ctx.secretsDir, 'ssh-host-ed25519.key.pub'),
    },
  ];
  const runs: SshRun[] = [];
  for (const t of targets) {
    const hostKey = publicKeyBlob(readFileSync(t.hostKeyFile, 'utf8'));
    const started = performance.now();
    const client = await connect(t.config, hostKey);
    const connectMs = performance.now() - started;
    try {
      const ms = await timeSequential(n, warmup, () => execTrue(client));
      runs.push({ path: t.path, login: `${t.config.username}@${t.config.host}:${t.config.port}`, connectMs, stats: summarize(ms) });
      ctx.log(`ssh via ${t.path}: p50 ${summarize(ms).p50.toFixed(2)} ms`);
    } finally {
      client.end();
    }
  }
  return { runs, warmup };
}
