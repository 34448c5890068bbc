import { GatewayError } from '@agentgate/errors';
import type { TokenAlgorithm, TrustedIssuer, VerifierOptions } from './types.js';

/** Every algorithm that may ever be configured; HS* and `none` are absent on purpose (key confusion, unsigned tokens). */
export const SUPPORTED_ALGORITHMS: readonly TokenAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

const MAX_CLOCK_TOLERANCE_SEC = 300; // a larger leeway would quietly extend every token's lifetime

/** An issuer with every default filled in. */
export interface IssuerConfig {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly algorithms: readonly TokenAlgorithm[];
  readonly jwksUri: string | null;
  readonly discoveryUri: string;
  readonly clockToleranceSec: number;
  readonly requiredClaims: readonly string[];
  readonly acceptedTypes: readonly string[];
  readonly subjectClaim: readonly string[];
  readonly groupsClaim: readonly string[];
}

/** Verifier options with every default filled in. */
export interface VerifierConfig {
  readonly issuers: ReadonlyMap<string, IssuerConfig>;
  /** Union of all issuers' algorithms, for a rejection before the payload is even decoded. */
  readonly algorithms: ReadonlySet<string>;
  readonly maxTokenBytes: number;
  readonly now: () => Date;
  readonly jwksCacheMaxAgeMs: number;
  readonly jwksCooldownMs: number;
  readonly fetchTimeoutMs: number;
}

/**
 * Normalizes a JOSE `typ` for comparison: media types are case-insensitive and the
 * `application/` prefix may be omitted (RFC 7515 §4.1.9), so `at+jwt` equals `application/at+jwt`.
 */
export function normalizeType(typ: string): string {
  const lower = typ.trim().toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/** Validates options once and returns a frozen config; every problem goes into one AG_ERR_CONFIG_INVALID. */
export function parseVerifierOptions(options: VerifierOptions): VerifierConfig {
  const problems: string[] = [];
  const issuers = new Map<string, IssuerConfig>();
  const algorithms = new Set<string>();

  if (typeof options !== 'object' || options === null) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', 'token verifier options must be an object');
  }
  if (!Array.isArray(options.issuers) || options.issuers.length === 0) {
    problems.push('issuers must be a non-empty array');
  } else {
    options.issuers.forEach((raw, i) => {
      const cfg = parseIssuer(raw, `issuers[${i}]`, problems);
      if (cfg === null) return;
      if (issuers.has(cfg.issuer)) problems.push(`issuers[${i}]: issuer ${cfg.issuer} is listed twice`);
      issuers.set(cfg.issuer, cfg);
      for (const alg of cfg.algorithms) algorithms.add(alg);
    });
  }

  const maxTokenBytes = intOption(options.maxTokenBytes, 'maxTokenBytes', 16384, 1, problems);
  const jwksCacheMaxAgeMs = intOption(options.jwksCacheMaxAgeMs, 'jwksCacheMaxAgeMs', 10 * 60_000, 1, problems);
  const jwksCooldownMs = intOption(options.jwksCooldownMs, 'jwksCooldownMs', 1000, 0, problems);
  const fetchTimeoutMs = intOption(options.fetchTimeoutMs, 'fetchTimeoutMs', 3000, 1, problems);
  if (options.now !== undefined && typeof options.now !== 'function') problems.push('now must be a function returning a Date');

  if (problems.length > 0) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `invalid token verifier options: ${problems.join('; ')}`);
  }
  return Object.freeze({
    issuers,
    algorithms,
    maxTokenBytes,
    now: options.now ?? (() => new Date()),
    jwksCacheMaxAgeMs,
    jwksCooldownMs,
    fetchTimeoutMs,
  });
}

function parseIssuer(raw: TrustedIssuer, where: string, problems: string[]): IssuerConfig | null {
  if (typeof raw !== 'object' || raw === null) {
    problems.push(`${where} must be an object`);
    return null;
  }
  const before = problems.length;
  if (!isHttpUrl(raw.issuer)) problems.push(`${where}.issuer must be an http(s) URL`);
  if (raw.jwksUri !== undefined && !isHttpUrl(raw.jwksUri)) problems.push(`${where}.jwksUri must be an http(s) URL`);

  const audience = typeof raw.audience === 'string' ? [raw.audience] : raw.audience;
  if (!isNonEmptyStringList(audience)) problems.push(`${where}.audience must be a non-empty string or list of non-empty strings`);

  if (!Array.isArray(raw.algorithms) || raw.algorithms.length === 0) {
    problems.push(`${where}.algorithms must be a non-empty list`);
  } else {
    for (const alg of raw.algorithms as unknown[]) {
      if (!SUPPORTED_ALGORITHMS.includes(alg as TokenAlgorithm)) {
        problems.push(`${where}.algorithms: ${String(alg)} is not allowed (only ${SUPPORTED_ALGORITHMS.join(', ')})`);
      }
    }
  }

  const tolerance = raw.clockToleranceSec ?? 30;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SEC) {
    problems.push(`${where}.clockToleranceSec must be within 0..${MAX_CLOCK_TOLERANCE_SEC}`);
  }
  const requiredClaims = listOption(raw.requiredClaims, ['exp', 'iat'], `${where}.requiredClaims`, problems, true);
  const acceptedTypes = listOption(raw.acceptedTypes, ['at+jwt', 'JWT'], `${where}.acceptedTypes`, problems);
  const subjectClaim = listOption(raw.subjectClaim, ['sub'], `${where}.subjectClaim`, problems);
  const groupsClaim = listOption(raw.groupsClaim, ['groups'], `${where}.groupsClaim`, problems);
  if (problems.length > before) return null;

  // OIDC Discovery §4: the well-known path is appended after removing a trailing slash.
  const discoveryUri = `${raw.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  return Object.freeze({
    issuer: raw.issuer,
    audience: Object.freeze([...(audience as string[])]),
    algorithms: Object.freeze([...new Set(raw.algorithms)]),
    jwksUri: raw.jwksUri ?? null,
    discoveryUri,
    clockToleranceSec: tolerance,
    // exp is always required: VerifiedIdentity.expiresAt is never null and a gateway never accepts eternal tokens.
    requiredClaims: Object.freeze([...new Set(['exp', ...requiredClaims])]),
    acceptedTypes: Object.freeze(acceptedTypes.map(normalizeType)),
    subjectClaim: Object.freeze([...subjectClaim]),
    groupsClaim: Object.freeze([...groupsClaim]),
  });
}

function listOption(value: string[] | undefined, fallback: string[], name: string, problems: string[], allowEmpty = false): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    problems.push(`${name} must be a ${allowEmpty ? '' : 'non-empty '}list of non-empty strings`);
    return fallback;
  }
  return value;
}

function intOption(value: number | undefined, name: string, fallback: number, min: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    problems.push(`${name} must be an integer >= ${min}`);
    return fallback;
  }
  return value;
}

function isNonEmptyStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0);
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
