/** A JWS algorithm the gateway may accept. Symmetric (HS*) and `none` are deliberately absent. */
export type TokenAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

/** One identity provider whose access tokens the gateway accepts, with its allow-lists. */
export interface TrustedIssuer {
  /** Exact `iss` value; also the base of OIDC discovery when `jwksUri` is absent. */
  issuer: string;
  /** Accepted `aud` values; a token must name at least one of them. */
  audience: string | string[];
  /** Allow-list of JWS algorithms for this issuer; HS* and `none` are rejected at configuration time. */
  algorithms: TokenAlgorithm[];
  /** JWKS location; when absent it is discovered from `${issuer}/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** Leeway for `exp` and `nbf`, in seconds (default 30, at most 300). */
  clockToleranceSec?: number;
  /** Top-level claims that must be present (default `['exp', 'iat']`; `exp` is always required). */
  requiredClaims?: string[];
  /** Accepted JOSE header `typ` values, case-insensitive (default `['at+jwt', 'JWT']`); a missing `typ` passes only if `JWT` is listed. */
  acceptedTypes?: string[];
  /** Claim path of the subject (default `['sub']`); falls back to `client_id` when absent. */
  subjectClaim?: string[];
  /** Claim path of the groups (default `['groups']`); a string array, a single string or a space-separated string. */
  groupsClaim?: string[];
}

/** Options of {@link createTokenVerifier}. */
export interface VerifierOptions {
  /** The trusted issuers; a token whose `iss` is not listed is rejected. */
  issuers: TrustedIssuer[];
  /** Maximum token length in characters, checked before any decoding (default 16384). */
  maxTokenBytes?: number;
  /** Injected clock for token times and JWKS cache age (default `() => new Date()`). */
  now?: () => Date;
  /** How long fetched keys are trusted without a refetch (default 10 minutes). Past it, an unreachable IdP fails closed. */
  jwksCacheMaxAgeMs?: number;
  /** Minimum time between JWKS refetches triggered by an unknown `kid` or a failed fetch (default 1000). */
  jwksCooldownMs?: number;
  /** Timeout of one discovery or JWKS request (default 3000). */
  fetchTimeoutMs?: number;
}

/** One party in a delegation chain (RFC 8693 `act`). */
export interface DelegationLink {
  subject: string;
  issuer: string | null;
  clientId: string | null;
}

/** What a verified access token says about its bearer. */
export interface VerifiedIdentity {
  /**
   * The principal the token acts for: the subject claim (`sub` by default, else `client_id`).
   * With delegation this is still the principal (e.g. the human), never the actor; see `actor`.
   */
  subject: string;
  /** The issuer that signed the token (a configured `issuer`). */
  issuer: string;
  /** Groups from the configured groups claim, deduplicated; empty when the claim is absent. */
  groups: string[];
  /**
   * The delegation chain in order of delegation: the principal first, then each actor from the
   * earliest (innermost `act`) to the current one (outermost `act`) last. Empty without `act`.
   */
  actChain: DelegationLink[];
  /** The current actor (outermost `act.sub`), or null when the token carries no `act` claim. */
  actor: string | null;
  /** The `jti` claim, or null. */
  tokenId: string | null;
  expiresAt: Date;
  issuedAt: Date | null;
  /** The token's `aud` as a list. */
  audience: string[];
  /** The `client_id` claim (RFC 9068), else `azp`, else null. */
  clientId: string | null;
}

/** Verifies access tokens; throws a `GatewayError` with an `AG_ERR_TOKEN_*`, `AG_ERR_IDP_UNAVAILABLE` code on rejection. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedIdentity>;
}
