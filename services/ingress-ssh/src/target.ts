// The gateway's own SSH connection to a target, one per agent session, logged in with the
// connection's vaulted key. The target's host key is pinned (the catalog's hostKey): anything
// else answering on its address is refused before the key is used.
import ssh2, { type Client } from 'ssh2';
import { GatewayError } from '@agentgate/errors';
import { resolveCredential } from '@agentgate/ingress-core';
import type { SshConnection, SshLogin } from './connections.js';

// ssh2 is CommonJS: its classes are not visible as named ES exports.
const { Client: SshClient } = ssh2;

/** The key blob of an OpenSSH public key line (`type base64 [comment]`). */
export function publicKeyLineBlob(line: string): Buffer {
  const parts = line.trim().split(/\s+/);
  const blob = parts[1] ? Buffer.from(parts[1], 'base64') : Buffer.alloc(0);
  if (blob.length < 16) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'the target host key is not an OpenSSH public key line');
  return blob;
}

export function connectTarget(
  connection: SshConnection,
  login: SshLogin,
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
): Promise<Client> {
  const hostKey = publicKeyLineBlob(resolveCredential(connection.hostKey, env));
  const privateKey = resolveCredential(login.credential, env);
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let hostKeyMismatch = false;
    const fail = (err: Error): void => {
      client.end();
      reject(
        hostKeyMismatch
          ? new GatewayError(
              'AG_ERR_UPSTREAM_UNAVAILABLE',
              `the target of ${connection.name} presented a host key other than the pinned one`,
            )
          : new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `the target of ${connection.name} could not be reached: ${err.message}`, {
              cause: err,
            }),
      );
    };
    client.once('ready', () => {
      client.removeListener('error', fail);
      client.on('error', () => {});
      resolve(client);
    });
    client.once('error', fail);
    client.connect({
      host: connection.host,
      port: connection.port,
      username: login.username,
      privateKey,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        hostKeyMismatch = !key.equals(hostKey);
        return !hostKeyMismatch;
      },
    });
  });
}
