import { GatewayError } from '@agentgate/errors';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type JWSHeaderParameters,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { optionalString, readAudience, readClientId, readDelegation, readGroups, readSubject } from './claims.js';
import { mapVerifyError, tokenError } from './errors.js';
import { JwksCache } from './jwks-cache.js';
import { normalizeType, parseVerifierOptions, type IssuerConfig } from './options.js';
import type { TokenVerifier, VerifiedIdentity, VerifierOptions } from './types.js';

/**
 * Creates a verifier for access tokens of the given issuers. Options are validated now
 * (AG_ERR_CONFIG_INVALID); keys are fetched lazily and cached per issuer in this verifier only.
 *
 * Order of checks, cheapest and least trusting first: size, header form, algorithm (before any
 * key is fetched), payload form, issuer (the only payload field used before verification, and
 * only to pick the issuer's allow-lists and keys), typ, then signature and claims with jose.
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const config = parseVerifierOptions(options);
  // Per-verifier state only: each issuer's allow-lists and its key cache.
  const trusted = new Map<string, { config: IssuerConfig; keys: JwksCache }>();
  for (const issuer of config.issuers.values()) {
    trusted.set(issuer.issuer, {
      config: issuer,
      keys: new JwksCache({
        issuer: issuer.issuer,
        jwksUri: issuer.jwksUri,
        discoveryUri: issuer.discoveryUri,
        maxAgeMs: config.jwksCacheMaxAgeMs,
        cooldownMs: config.jwksCooldownMs,
        fetchTimeoutMs: config.fetchTimeoutMs,
      }),
    });
  }

  async function verify(token: string): Promise<VerifiedIdentity> {
    // Length first, before any split or base64 work, so an oversized token costs O(1).
    if (typeof token !== 'string') throw tokenError('AG_ERR_TOKEN_MALFORMED', 'the token is not a string');
    if (token.length > config.maxTokenBytes) throw tokenError('AG_ERR_TOKEN_TOO_LARGE', `the token exceeds ${config.maxTokenBytes} bytes`);

    const header = decodeHeader(token);
    // Reject algorithms no issuer allows (none, HS*, ...) before the payload is even parsed.
    if (!config.algorithms.has(header.alg)) throw algNotAllowed();
    const { config: issuer, keys } = pickIssuer(token);
    if (!(issuer.algorithms as readonly string[]).includes(header.alg)) throw algNotAllowed();
    checkType(issuer, header.typ);

    const now = readClock();
    const getKey = (protectedHeader: JWSHeaderParameters): Promise<CryptoKey> => keys.getKey(protectedHeader, now.getTime());
    const verifyOptions = {
      algorithms: [...issuer.algorithms],
      issuer: issuer.issuer,
      audience: [...issuer.audience],
      requiredClaims: [...issuer.requiredClaims],
      currentDate: now,
      clockTolerance: issuer.clockToleranceSec,
    };
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(token, getKey, verifyOptions)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw mapVerifyError(error);
      // No kid and several keys of the right type: jose leaves trying each candidate to us.
      payload = await verifyWithCandidates(token, error, verifyOptions);
    }
    return toIdentity(issuer, payload);
  }

  function readClock(): Date {
    const now = config.now();
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', 'the injected clock did not return a valid Date');
    }
    return now;
  }

  function pickIssuer(token: string): { config: IssuerConfig; keys: JwksCache } {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token); // unverified: only `iss` is read, to choose allow-lists and keys
    } catch {
      throw tokenError('AG_ERR_TOKEN_MALFORMED', 'the token payload is not a JSON object');
    }
    if (typeof claims.iss !== 'string') throw tokenError('AG_ERR_TOKEN_CLAIM_MISSING', 'the token has no iss claim');
    const issuer = trusted.get(claims.iss);
    if (issuer === undefined) throw tokenError('AG_ERR_TOKEN_ISSUER_UNTRUSTED', 'the token issuer is not trusted');
    return issuer;
  }

  return { verify };
}

interface Header {
  alg: string;
  typ: unknown;
}

function decodeHeader(token: string): Header {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw tokenError('AG_ERR_TOKEN_MALFORMED', 'the token header is not a base64url JSON object');
  }
  if (typeof header.alg !== 'string') throw tokenError('AG_ERR_TOKEN_MALFORMED', 'the token header has no alg');
  return { alg: header.alg, typ: header.typ };
}

function algNotAllowed(): GatewayError {
  return tokenError('AG_ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed');
}

/**
 * The header is signed, so checking typ before the signature gives the same verdict as after it;
 * doing it first spares a key fetch for tokens of the wrong kind (e.g. ID tokens).
 */
function checkType(issuer: IssuerConfig, typ: unknown): void {
  if (typ === undefined) {
    if (issuer.acceptedTypes.includes('jwt')) return;
  } else if (typeof typ === 'string' && issuer.acceptedTypes.includes(normalizeType(typ))) {
    return;
  }
  throw tokenError('AG_ERR_TOKEN_TYPE_NOT_ALLOWED', 'the token typ is not accepted');
}

async function verifyWithCandidates(
  token: string,
  candidates: AsyncIterable<CryptoKey>,
  options: Parameters<typeof jwtVerify>[2],
): Promise<JWTPayload> {
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      throw mapVerifyError(error);
    }
  }
  throw tokenError('AG_ERR_TOKEN_SIGNATURE_INVALID', 'the token signature does not verify');
}

function toIdentity(issuer: IssuerConfig, claims: JWTPayload): VerifiedIdentity {
  const subject = readSubject(claims, issuer.subjectClaim);
  const { actChain, actor } = readDelegation(claims, subject, issuer.issuer);
  return {
    subject,
    issuer: issuer.issuer,
    groups: readGroups(claims, issuer.groupsClaim),
    actChain,
    actor,
    tokenId: optionalString(claims, 'jti'),
    // jose checked exp (always required) and iat (when present) are numbers.
    expiresAt: new Date((claims.exp as number) * 1000),
    issuedAt: typeof claims.iat === 'number' ? new Date(claims.iat * 1000) : null,
    audience: readAudience(claims),
    clientId: readClientId(claims),
  };
}
