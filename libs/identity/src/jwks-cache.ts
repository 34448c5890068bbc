import { GatewayError } from '@agentgate/errors';
import { createLocalJWKSet, errors, type CryptoKey, type JSONWebKeySet, type JWSHeaderParameters, type LocalJWKSet } from 'jose';
import { fetchJson } from './fetch-json.js';

/**
 * Why our own fetch + createLocalJWKSet rather than jose's createRemoteJWKSet:
 *  - revocation needs the set of kids currently published and the kids ever seen, which the
 *    remote set does not expose;
 *  - cache age and cooldown must follow the injected clock (tests, and one notion of "now"
 *    per verification), while the remote set reads the wall clock;
 *  - past the max age with the IdP unreachable we must fail closed, and discovery of jwks_uri
 *    must share the same timeout, caching and error mapping.
 */

/** Settings of one issuer's key cache. */
export interface JwksCacheOptions {
  readonly issuer: string;
  /** Configured JWKS URI, or null to discover it. */
  readonly jwksUri: string | null;
  readonly discoveryUri: string;
  readonly maxAgeMs: number;
  readonly cooldownMs: number;
  readonly fetchTimeoutMs: number;
}

interface Snapshot {
  readonly keys: LocalJWKSet;
  /** kids published in this fetch. */
  readonly kids: ReadonlySet<string>;
  /** Injected-clock time of the fetch attempt that produced it. */
  readonly fetchedAt: number;
}

/** One issuer's signing keys: fetched on demand, refetched on an unknown kid (with cooldown) and when older than the max age. */
export class JwksCache {
  readonly #options: JwksCacheOptions;
  #jwksUri: string | null;
  #snapshot: Snapshot | null = null;
  /** Every kid this issuer ever published to us; a seen kid that is gone now was revoked. */
  readonly #seenKids = new Set<string>();
  #inflight: Promise<Snapshot> | null = null;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #lastFailure: unknown = null;

  constructor(options: JwksCacheOptions) {
    this.#options = options;
    this.#jwksUri = options.jwksUri;
  }

  /**
   * Resolves the verification key for a protected header at injected time `nowMs`. Throws
   * AG_ERR_TOKEN_KEY_UNKNOWN, AG_ERR_TOKEN_KEY_REVOKED or AG_ERR_IDP_UNAVAILABLE; jose's
   * JWKSMultipleMatchingKeys passes through for the caller to try each candidate.
   */
  async getKey(header: JWSHeaderParameters, nowMs: number): Promise<CryptoKey> {
    let snapshot = this.#snapshot;
    let refreshed = false;
    if (snapshot === null || nowMs - snapshot.fetchedAt >= this.#options.maxAgeMs) {
      // No keys, or keys too old to trust: a failed refresh fails closed (IDP_UNAVAILABLE).
      snapshot = await this.#refresh(nowMs);
      refreshed = true;
    }
    const key = await lookup(snapshot, header);
    if (key !== null) return key;

    // Unknown kid: maybe the IdP rotated. Refetch at most once per cooldown, so a stream of
    // tokens with made-up kids cannot turn the gateway into a load generator against the IdP.
    if (!refreshed) {
      if (nowMs - this.#lastAttemptAt >= this.#options.cooldownMs) {
        snapshot = await this.#refresh(nowMs);
        const retried = await lookup(snapshot, header);
        if (retried !== null) return retried;
      } else if (this.#lastFailure !== null) {
        // The last look at the IdP failed, so we cannot tell a new key from an unknown one.
        throw this.#unavailable(this.#lastFailure);
      }
    }
    const kid = header.kid;
    if (kid !== undefined && this.#seenKids.has(kid) && !snapshot.kids.has(kid)) {
      throw new GatewayError('AG_ERR_TOKEN_KEY_REVOKED', `the signing key was removed by issuer ${this.#options.issuer}`);
    }
    throw new GatewayError('AG_ERR_TOKEN_KEY_UNKNOWN', `no key of issuer ${this.#options.issuer} matches the token`);
  }

  /** Single-flight refresh; a failure is remembered for the cooldown so a down IdP is not hammered. */
  #refresh(nowMs: number): Promise<Snapshot> {
    if (this.#inflight !== null) return this.#inflight;
    if (this.#lastFailure !== null && nowMs - this.#lastAttemptAt < this.#options.cooldownMs) {
      return Promise.reject(this.#unavailable(this.#lastFailure));
    }
    this.#lastAttemptAt = nowMs;
    const attempt = this.#load(nowMs).then(
      (snapshot) => {
        this.#snapshot = snapshot;
        this.#lastFailure = null;
        for (const kid of snapshot.kids) this.#seenKids.add(kid);
        return snapshot;
      },
      (cause: unknown) => {
        this.#lastFailure = cause;
        // A discovered jwks_uri may have moved: discover again next time.
        if (this.#options.jwksUri === null) this.#jwksUri = null;
        throw this.#unavailable(cause);
      },
    );
    this.#inflight = attempt.finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #load(nowMs: number): Promise<Snapshot> {
    const uri = this.#jwksUri ?? (await this.#discover());
    const document = await fetchJson(uri, this.#options.fetchTimeoutMs);
    // createLocalJWKSet validates the shape ({ keys: [...] }) and throws JWKSInvalid otherwise.
    const keys = createLocalJWKSet(document as JSONWebKeySet);
    const kids = new Set<string>();
    for (const jwk of (document as JSONWebKeySet).keys) if (typeof jwk.kid === 'string') kids.add(jwk.kid);
    return { keys, kids, fetchedAt: nowMs };
  }

  async #discover(): Promise<string> {
    const metadata = await fetchJson(this.#options.discoveryUri, this.#options.fetchTimeoutMs);
    if (typeof metadata !== 'object' || metadata === null) throw new Error('discovery document is not an object');
    const { issuer, jwks_uri: jwksUri } = metadata as Record<string, unknown>;
    // OIDC Discovery §4.3: the metadata must name the issuer it was fetched for, else one
    // issuer's document could point us at another's keys.
    if (issuer !== this.#options.issuer) throw new Error('discovery document names another issuer');
    if (typeof jwksUri !== 'string' || !/^https?:\/\//i.test(jwksUri)) throw new Error('discovery document has no http(s) jwks_uri');
    this.#jwksUri = jwksUri;
    return jwksUri;
  }

  #unavailable(cause: unknown): GatewayError {
    return new GatewayError('AG_ERR_IDP_UNAVAILABLE', `the keys of issuer ${this.#options.issuer} cannot be fetched`, { cause });
  }
}

/** The key for a header, or null when the snapshot has none (other jose errors propagate). */
async function lookup(snapshot: Snapshot, header: JWSHeaderParameters): Promise<CryptoKey | null> {
  try {
    return await snapshot.keys(header);
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return null;
    throw error;
  }
}
