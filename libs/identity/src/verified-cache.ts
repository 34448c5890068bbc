// Verified tokens remembered for a short while, for edges that see the same token on every
// request (HTTP calls, MCP POSTs): verification (JWKS lookup, signature, claims) costs about
// 3 ms on this hardware, once per connection for PostgreSQL and SSH but once per request here.
// A token is remembered by its SHA-256, never by its text, until the earlier of its expiry and
// `maxAgeMs`: a key the IdP rotates out is trusted at most that much longer. Pure apart from the
// injected clock; a failed verification is never remembered.
import { createHash } from 'node:crypto';
import type { VerifiedIdentity } from './types.js';

export interface VerifiedCacheOptions {
  /** How long a verification is trusted at most. */
  maxAgeMs: number;
  /** Tokens remembered at most; the oldest entry goes first. */
  maxEntries: number;
  now: () => number;
}

/** `verify` with its successes remembered per token. */
export function cachingVerifier(
  verify: (token: string) => Promise<VerifiedIdentity>,
  options: VerifiedCacheOptions,
): (token: string) => Promise<VerifiedIdentity> {
  const entries = new Map<string, { identity: VerifiedIdentity; until: number }>();
  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64');
    const now = options.now();
    const known = entries.get(key);
    if (known && now < known.until) return known.identity;
    if (known) entries.delete(key);
    const identity = await verify(token);
    const until = Math.min(identity.expiresAt.getTime(), options.now() + options.maxAgeMs);
    if (options.maxEntries > 0 && options.maxAgeMs > 0 && until > options.now()) {
      if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(key, { identity, until });
    }
    return identity;
  };
}
