// The demo identities' client secrets: random, created on first start, reused afterwards so
// scripts and tests can keep reading them from the clients file.
import { randomBytes } from 'node:crypto';
import { GatewayError } from '@agentgate/errors';
import { readJsonIfExists, writePrivateFile } from './private-file.js';

export type ClientSecrets = ReadonlyMap<string, string>;

/** 24 random bytes, base64url: 192 bits, safe in Basic auth and form bodies unescaped. */
export function newClientSecret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Loads `{ "<client_id>": "<secret>" }` from `file`, adds a secret for every name that has
 * none, and rewrites the file (mode 0600) only when something was added. Entries for names
 * no longer known are kept, so a downgrade does not rotate secrets behind a user's back.
 */
export async function loadOrCreateClientSecrets(
  file: string,
  names: readonly string[],
  newSecret: () => string = newClientSecret,
): Promise<ClientSecrets> {
  let parsed: unknown;
  try {
    parsed = await readJsonIfExists(file);
  } catch (err) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `clients file ${file} is not readable JSON`, { cause: err });
  }
  const stored: Record<string, string> = {};
  if (parsed !== undefined) {
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', `clients file ${file} must hold a JSON object of client_id -> secret`);
    }
    for (const [id, secret] of Object.entries(parsed)) {
      if (typeof secret !== 'string' || secret.length < 16) {
        throw new GatewayError(
          'AG_ERR_CONFIG_INVALID',
          `clients file ${file}: the secret of ${JSON.stringify(id)} must be a string of at least 16 characters`,
        );
      }
      stored[id] = secret;
    }
  }
  let added = false;
  for (const name of names) {
    if (stored[name] === undefined) {
      stored[name] = newSecret();
      added = true;
    }
  }
  if (added || parsed === undefined) await writePrivateFile(file, `${JSON.stringify(stored, null, 2)}\n`);
  return new Map(Object.entries(stored));
}
