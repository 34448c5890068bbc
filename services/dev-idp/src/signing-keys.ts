// The IdP's ES256 signing keys, persisted as a private JWKS in `<stateDir>/jwks.json`.
// The first key signs; the others stay published so tokens they signed keep verifying
// until they are deleted. Mutations are serialised so concurrent rotate/delete requests
// never interleave their file writes.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { GatewayError } from '@agentgate/errors';
import { readJsonIfExists, writePrivateFile } from './private-file.js';

export const SIGNING_ALG = 'ES256';

/** A private P-256 JWK with the members oidc-provider needs. */
export interface PrivateSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: 'sig';
}

export type RemoveResult = 'removed' | 'unknown-kid' | 'last-key';

/** Creates a P-256 key whose kid is its RFC 7638 thumbprint (stable, never collides). */
export async function newSigningKey(): Promise<PrivateSigningJwk> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || typeof jwk.d !== 'string') {
    throw new GatewayError('AG_ERR_INTERNAL', 'generated EC key lacks x, y or d');
  }
  const kid = await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, 'sha256');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d, kid, alg: SIGNING_ALG, use: 'sig' };
}

function isSigningJwk(value: unknown): value is PrivateSigningJwk {
  if (typeof value !== 'object' || value === null) return false;
  const k = value as Record<string, unknown>;
  return (
    k.kty === 'EC' &&
    k.crv === 'P-256' &&
    k.alg === SIGNING_ALG &&
    k.use === 'sig' &&
    [k.x, k.y, k.d, k.kid].every((m) => typeof m === 'string' && m !== '')
  );
}

export class SigningKeys {
  private keys: PrivateSigningJwk[];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    keys: PrivateSigningJwk[],
  ) {
    this.keys = keys;
  }

  /** Loads `<stateDir>/jwks.json`, creating it with one fresh key on first start. */
  static async open(stateDir: string): Promise<SigningKeys> {
    const file = join(stateDir, 'jwks.json');
    let parsed: unknown;
    try {
      parsed = await readJsonIfExists(file);
    } catch (err) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', `${file} is not readable JSON`, { cause: err });
    }
    if (parsed === undefined) {
      const keys = new SigningKeys(file, [await newSigningKey()]);
      await keys.persist();
      return keys;
    }
    const list = (parsed as { keys?: unknown }).keys;
    // Refuse rather than regenerate: silently replacing keys would invalidate every token.
    if (!Array.isArray(list) || list.length === 0 || !list.every(isSigningJwk)) {
      throw new GatewayError(
        'AG_ERR_CONFIG_INVALID',
        `${file} must be a JWKS of private ES256 signing keys ({"keys":[...]}, at least one)`,
      );
    }
    return new SigningKeys(file, list);
  }

  /** The private JWKS, signing key first (a copy: oidc-provider clones it anyway). */
  privateJwks(): { keys: PrivateSigningJwk[] } {
    return { keys: this.keys.map((k) => ({ ...k })) };
  }

  kids(): string[] {
    return this.keys.map((k) => k.kid);
  }

  signingKid(): string {
    const first = this.keys[0];
    if (!first) throw new GatewayError('AG_ERR_INTERNAL', 'no signing key');
    return first.kid;
  }

  /** Adds a new key in front, so it signs from now on; older keys stay published. */
  rotate(): Promise<string> {
    return this.serialised(async () => {
      const key = await newSigningKey();
      const previous = this.keys;
      this.keys = [key, ...previous];
      await this.persistOrRestore(previous);
      return key.kid;
    });
  }

  /** Removes a key; the last one is kept because the IdP could sign nothing without it. */
  remove(kid: string): Promise<RemoveResult> {
    return this.serialised(async () => {
      if (!this.keys.some((k) => k.kid === kid)) return 'unknown-kid';
      if (this.keys.length === 1) return 'last-key';
      const previous = this.keys;
      this.keys = previous.filter((k) => k.kid !== kid);
      await this.persistOrRestore(previous);
      return 'removed';
    });
  }

  private serialised<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async persistOrRestore(previous: PrivateSigningJwk[]): Promise<void> {
    try {
      await this.persist();
    } catch (err) {
      // Memory must not run ahead of the file: a restart would resurrect the old set.
      this.keys = previous;
      throw err;
    }
  }

  private persist(): Promise<void> {
    return writePrivateFile(this.file, `${JSON.stringify({ keys: this.keys }, null, 2)}\n`);
  }
}
