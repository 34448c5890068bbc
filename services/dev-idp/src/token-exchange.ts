// RFC 8693 token exchange: the only way the dev IdP issues a delegated token. The requesting
// client authenticates as itself and presents the subject's own access token, issued by this
// IdP, as proof that the subject delegated. The new token names the subject as `sub` and the
// client as the current actor (`act.sub`), with the subject token's own `act` nested inside:
//   alice's token  --planner exchanges-->    sub alice, act {sub planner}
//                  --dba-agent exchanges-->  sub alice, act {sub dba-agent, act {sub planner}}
// Request parameters (form fields, RFC 8693 section 2.1):
//   subject_token          REQUIRED, an access token (JWT) of this IdP for the gateway's audience
//   subject_token_type     REQUIRED, urn:ietf:params:oauth:token-type:access_token or :jwt
//   actor_token(_type)     refused: the authenticated client is the actor
//   requested_token_type   optional, access_token or jwt (both give the same at+jwt)
//   audience, resource     optional, only the gateway's
// Errors: a malformed request is invalid_request; a subject token that does not verify, or that
// this client may not act on (may_act, RFC 8693 section 4.4), is invalid_grant (RFC 6749 5.2:
// the grant presented is invalid), so a client can tell "fix the request" from "get a new token".
// Pure apart from jose's signature check: keys and the clock come in as arguments.
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';

/** The form parameters of the grant (oidc-provider strips any other but the client's auth). */
export const EXCHANGE_PARAMETERS: readonly string[] = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
];

/** The gateway verifies at most this many nested `act` claims (libs/identity MAX_ACT_DEPTH). */
export const MAX_ACT_DEPTH = 8;

/** Subject tokens larger than this are refused before parsing (the gateway's own limit). */
const MAX_SUBJECT_TOKEN_CHARS = 16_384;

/** RFC 8693 actor claim: `sub` is the current actor, a nested `act` the one before it. */
export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

export type ExchangeError = { error: 'invalid_request' | 'invalid_grant' | 'invalid_target'; description: string };

export type ExchangeRequestResult = { ok: true; subjectToken: string } | ({ ok: false } & ExchangeError);

const ACCEPTED_SUBJECT_TYPES = new Set([TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT]);

function param(params: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Checks the grant's parameters (duplicates are already refused by oidc-provider). */
export function parseExchangeRequest(
  params: Readonly<Record<string, unknown>>,
  gateway: { audience: string; resource: string; scope: string },
): ExchangeRequestResult {
  const invalid = (description: string): ExchangeRequestResult => ({ ok: false, error: 'invalid_request', description });
  const subjectToken = param(params, 'subject_token');
  if (subjectToken === undefined) return invalid('subject_token is required: the subject proves the delegation with its own token');
  const subjectType = param(params, 'subject_token_type');
  if (subjectType === undefined) return invalid('subject_token_type is required');
  if (!ACCEPTED_SUBJECT_TYPES.has(subjectType))
    return invalid(`subject_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN} or ${TOKEN_TYPE_JWT}`);
  if (param(params, 'actor_token') !== undefined || param(params, 'actor_token_type') !== undefined) {
    return invalid('actor_token is not supported: the authenticated client is the actor');
  }
  const requested = param(params, 'requested_token_type');
  if (requested !== undefined && !ACCEPTED_SUBJECT_TYPES.has(requested)) {
    return invalid(`requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN} or ${TOKEN_TYPE_JWT}`);
  }
  const audience = param(params, 'audience');
  if (audience !== undefined && audience !== gateway.audience) {
    return { ok: false, error: 'invalid_target', description: `the only audience is ${gateway.audience}` };
  }
  const resource = param(params, 'resource');
  if (resource !== undefined && resource !== gateway.resource) {
    return { ok: false, error: 'invalid_target', description: `the only resource is ${gateway.resource}` };
  }
  const scope = param(params, 'scope');
  if (scope?.split(' ').some((s) => s !== gateway.scope)) {
    return invalid(`the only scope is ${gateway.scope}`);
  }
  if (subjectToken.length > MAX_SUBJECT_TOKEN_CHARS) return invalid(`subject_token is longer than ${MAX_SUBJECT_TOKEN_CHARS} characters`);
  return { ok: true, subjectToken };
}

export interface SubjectTokenTrust {
  /** This IdP's own issuer: a subject token from any other issuer is refused. */
  issuer: string;
  /** The gateway's audience: the subject token must have been issued for it. */
  audience: string;
  /** This IdP's public signing keys (every published kid). */
  keys: JSONWebKeySet;
  algorithms: string[];
  now: () => Date;
}

export type SubjectTokenResult = { ok: true; claims: JWTPayload } | ({ ok: false } & ExchangeError);

function grantError(description: string): { ok: false } & ExchangeError {
  return { ok: false, error: 'invalid_grant', description };
}

/** Verifies a subject token as the gateway would: signature, issuer, audience, typ, exp. */
export async function verifySubjectToken(token: string, trust: SubjectTokenTrust): Promise<SubjectTokenResult> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(trust.keys), {
      issuer: trust.issuer,
      audience: trust.audience,
      algorithms: trust.algorithms,
      typ: 'at+jwt',
      requiredClaims: ['sub', 'exp', 'iat'],
      currentDate: trust.now(),
    });
    return { ok: true, claims: payload };
  } catch (err) {
    // jose's messages name the failed check ("\"exp\" claim timestamp check failed"), never the token.
    if (err instanceof joseErrors.JWTExpired) return grantError('subject_token has expired');
    if (err instanceof joseErrors.JOSEError) return grantError(`subject_token is not a valid access token of this issuer (${err.code})`);
    return grantError('subject_token is not a valid access token of this issuer');
  }
}

/** Reads a nested `act` claim as issued; anything but `{sub: string, act?: ...}` is refused. */
function readAct(value: unknown, depth: number): ActClaim | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the subject token has a malformed act claim';
  const node = value as Record<string, unknown>;
  if (typeof node.sub !== 'string' || node.sub === '') return 'the subject token has an act claim without sub';
  if (node.act === undefined) return { sub: node.sub };
  if (depth + 1 >= MAX_ACT_DEPTH) return `the delegation chain would nest deeper than ${MAX_ACT_DEPTH} actors`;
  const inner = readAct(node.act, depth + 1);
  return typeof inner === 'string' ? inner : { sub: node.sub, act: inner };
}

/**
 * RFC 8693 section 4.4: `may_act` names who may act for the subject. When the subject token has
 * one, the requesting client must be its `sub` (and its `iss`, if named, this issuer).
 */
function mayActAllows(mayAct: unknown, clientId: string, issuer: string): boolean {
  if (typeof mayAct !== 'object' || mayAct === null || Array.isArray(mayAct)) return false;
  const claim = mayAct as Record<string, unknown>;
  if (claim.iss !== undefined && claim.iss !== issuer) return false;
  return claim.sub === clientId;
}

export interface ExchangedClaims {
  sub: string;
  act: ActClaim;
  /** The subject token's `exp`: the new token must not outlive it. */
  notAfterSec: number;
}

export type ExchangedClaimsResult = ({ ok: true } & ExchangedClaims) | ({ ok: false } & ExchangeError);

/** The `sub` and `act` of the token issued to `clientId` for a verified subject token. */
export function exchangedClaims(clientId: string, subject: JWTPayload, issuer: string): ExchangedClaimsResult {
  if (typeof subject.sub !== 'string' || subject.sub === '') return grantError('the subject token has no sub');
  if (typeof subject.exp !== 'number') return grantError('the subject token has no exp');
  if (Object.hasOwn(subject, 'may_act') && !mayActAllows(subject.may_act, clientId, issuer)) {
    return grantError(`the subject token's may_act does not allow ${clientId} to act for ${subject.sub}`);
  }
  let act: ActClaim = { sub: clientId };
  if (subject.act !== undefined) {
    const prior = readAct(subject.act, 1);
    if (typeof prior === 'string') return grantError(prior);
    act = { sub: clientId, act: prior };
  }
  return { ok: true, sub: subject.sub, act, notAfterSec: subject.exp };
}

/** Lifetime of the exchanged token: the requested one, cut to end no later than the subject token. */
export function exchangedLifetimeSec(requestedSec: number, notAfterSec: number, nowSec: number): number {
  return Math.min(requestedSec, notAfterSec - nowSec);
}
