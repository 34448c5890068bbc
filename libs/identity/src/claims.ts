import { GatewayError } from '@agentgate/errors';
import type { DelegationLink } from './types.js';

/** Deepest `act` nesting accepted; real chains are short and this bounds work on hostile tokens. */
export const MAX_ACT_DEPTH = 8;

type Claims = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Claims {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function claimMissing(message: string): GatewayError {
  return new GatewayError('AG_ERR_TOKEN_CLAIM_MISSING', message);
}

/**
 * Reads a claim by path segments (`['realm_access', 'roles']`). Segments are literal keys, so
 * namespaced claims such as `https://agentgate.dev/groups` need no escaping. Only own properties
 * are followed: a claim named `__proto__` or `constructor` must not reach Object.prototype.
 */
export function readClaimPath(claims: unknown, path: readonly string[]): unknown {
  let node: unknown = claims;
  for (const segment of path) {
    if (!isRecord(node) || !Object.hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

/** The subject at `path`, else `client_id` (client-credentials tokens often have no `sub`). */
export function readSubject(claims: Claims, path: readonly string[]): string {
  const primary = readClaimPath(claims, path);
  if (primary !== undefined) {
    if (typeof primary !== 'string' || primary.length === 0) throw claimMissing('the subject claim is not a non-empty string');
    return primary;
  }
  const clientId = claims['client_id'];
  if (typeof clientId === 'string' && clientId.length > 0) return clientId;
  throw claimMissing('the token has neither the configured subject claim nor client_id');
}

/**
 * Groups at `path`: a string array, a single string or a space-separated string (the OAuth
 * `scope` style some IdPs use for roles). Absent means no groups. Any other shape is rejected
 * rather than ignored, because groups decide access and a silent [] would hide a misconfigured IdP.
 */
export function readGroups(claims: Claims, path: readonly string[]): string[] {
  const value = readClaimPath(claims, path);
  if (value === undefined) return [];
  let groups: string[];
  if (typeof value === 'string') groups = value.split(' ');
  else if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) groups = value;
  else throw claimMissing('the groups claim must be a string or a list of strings');
  return [...new Set(groups.filter((g) => g.length > 0))];
}

/** The token's `aud` as a list (RFC 7519 allows a single string). */
export function readAudience(claims: Claims): string[] {
  const aud = claims['aud'];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

/** `client_id` (RFC 9068), else `azp` (OIDC; Keycloak puts the client there), else null. */
export function readClientId(claims: Claims): string | null {
  return optionalString(claims, 'client_id') ?? optionalString(claims, 'azp');
}

/** A string claim, or null when absent or of another type. */
export function optionalString(claims: Claims, name: string): string | null {
  const value = claims[name];
  return typeof value === 'string' ? value : null;
}

/** The delegation chain and current actor from an RFC 8693 `act` claim. */
export interface Delegation {
  actChain: DelegationLink[];
  actor: string | null;
}

/**
 * RFC 8693 §4.1: the outermost `act` is the current actor and each nested `act` a prior one.
 * The chain is returned in delegation order: the principal (token subject) first, then actors from
 * the innermost (earliest) to the outermost (current) last. So `sub=dave, act={sub:helper,
 * act={sub:demo-agent}}` gives [dave, demo-agent, helper] and actor `helper`.
 */
export function readDelegation(claims: Claims, principal: string, issuer: string): Delegation {
  if (!Object.hasOwn(claims, 'act')) return { actChain: [], actor: null };
  const actors: DelegationLink[] = []; // outermost first while walking
  let node: unknown = claims['act'];
  while (node !== undefined) {
    if (actors.length === MAX_ACT_DEPTH) throw claimMissing(`the act claim nests deeper than ${MAX_ACT_DEPTH} levels`);
    if (!isRecord(node)) throw claimMissing('an act claim is not an object');
    const subject = node['sub'];
    if (typeof subject !== 'string' || subject.length === 0) throw claimMissing('an act claim has no sub');
    actors.push({ subject, issuer: optionalString(node, 'iss'), clientId: optionalString(node, 'client_id') });
    node = Object.hasOwn(node, 'act') ? node['act'] : undefined;
  }
  const current = actors[0]?.subject ?? null;
  return { actChain: [{ subject: principal, issuer, clientId: null }, ...actors.reverse()], actor: current };
}
