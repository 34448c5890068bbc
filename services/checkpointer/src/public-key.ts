// The public key list the checkpointer publishes, in the shape verifiers read trusted keys in:
// {"keys":[{"keyId","publicKey","comment"}]}. Trust is whatever list the verifier is given;
// this file only saves copying the key out of a log line.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { keyIdOf, publicKeyBase64 } from '@agentgate/audit-verify';

export interface PublishedKey {
  keyId: string;
  /** Base64 SPKI DER. */
  publicKey: string;
  comment: string;
}

/** The key list for a signing key. */
export function publicKeyList(signingKey: KeyObject, comment: string): { keys: PublishedKey[] } {
  const publicKey = createPublicKey(signingKey);
  return { keys: [{ keyId: keyIdOf(publicKey), publicKey: publicKeyBase64(publicKey), comment }] };
}

/** Writes the list whole or not at all (a reader never sees half a file). */
export function writePublicKeyFile(path: string, list: { keys: PublishedKey[] }): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}
