import { GatewayError, type ErrorCode } from '@agentgate/errors';
import { errors } from 'jose';

/**
 * A token rejection. Messages are fixed text: never the token, nor any value read from it
 * (an attacker controls those, and they would land in logs). jose's error is not kept as the
 * cause either, because claim errors carry the decoded payload.
 */
export function tokenError(code: ErrorCode, message: string): GatewayError {
  return new GatewayError(code, message);
}

/** Maps an error thrown by jwtVerify (or our key resolver inside it) to a GatewayError. */
export function mapVerifyError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error; // from the key resolver
  if (error instanceof errors.JWTExpired) return tokenError('AG_ERR_TOKEN_EXPIRED', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) return claimError(error.claim, error.reason);
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return tokenError('AG_ERR_TOKEN_SIGNATURE_INVALID', 'the token signature does not verify');
  if (error instanceof errors.JOSEAlgNotAllowed) return tokenError('AG_ERR_TOKEN_ALG_NOT_ALLOWED', 'the token algorithm is not allowed');
  if (error instanceof errors.JWKSNoMatchingKey) return tokenError('AG_ERR_TOKEN_KEY_UNKNOWN', 'no key of the issuer matches the token');
  // A published key that cannot serve this token (bad JWK, RSA modulus under 2048 bits: a TypeError in jose).
  if (error instanceof errors.JWKInvalid || error instanceof errors.JWKSInvalid || error instanceof TypeError) {
    return tokenError('AG_ERR_TOKEN_KEY_UNKNOWN', 'no usable key of the issuer matches the token');
  }
  // JWSInvalid, JWTInvalid, JOSENotSupported and anything else jose says about the token's form.
  return tokenError('AG_ERR_TOKEN_MALFORMED', 'the token is not a well-formed JWT');
}

function claimError(claim: string, reason: string): GatewayError {
  if (reason === 'missing') return tokenError('AG_ERR_TOKEN_CLAIM_MISSING', `the token lacks a required claim${claimLabel(claim)}`);
  switch (claim) {
    case 'nbf':
      return tokenError('AG_ERR_TOKEN_NOT_YET_VALID', 'the token is not valid yet (nbf)');
    case 'aud':
      return tokenError('AG_ERR_TOKEN_AUDIENCE_MISMATCH', 'the token audience is not accepted');
    case 'iss':
      return tokenError('AG_ERR_TOKEN_ISSUER_UNTRUSTED', 'the token issuer is not trusted');
    case 'typ':
      return tokenError('AG_ERR_TOKEN_TYPE_NOT_ALLOWED', 'the token typ is not accepted');
    default:
      return tokenError('AG_ERR_TOKEN_CLAIM_MISSING', `a token claim is invalid${claimLabel(claim)}`);
  }
}

// jose reports only configured or registered claim names here, but keep the label to
// a safe charset anyway so a message can never carry arbitrary token text.
function claimLabel(claim: string): string {
  return /^[A-Za-z0-9_:./-]{1,64}$/.test(claim) ? ` (${claim})` : '';
}
