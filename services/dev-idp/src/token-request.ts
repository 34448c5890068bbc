// The dev-only parameter of a token request (client_credentials or token exchange):
//   ttl=<seconds>   token lifetime, 1..86400 (tests use it to get short-lived tokens)
// Delegation is no longer a parameter: `on_behalf_of` and `via` named a principal with no proof
// that it delegated anything, so they are refused. A delegated token comes only from an RFC 8693
// token exchange, where the subject's own token is the proof (token-exchange.ts).
// Pure: no oidc-provider types, so the rules are testable on their own.

export const MAX_TTL_SEC = 86400;

/** Parameters of the retired dev-only delegation; a request that still sends one is refused. */
export const RETIRED_DELEGATION_PARAMETERS: readonly string[] = ['on_behalf_of', 'via'];

export interface TokenRequestExtras {
  ttlSec?: number;
}

export type ExtrasResult = { ok: true; extras: TokenRequestExtras } | { ok: false; description: string };

function single(body: Readonly<Record<string, unknown>>, name: string): { value?: string; error?: string } {
  const raw = body[name];
  if (raw === undefined) return {};
  // querystring.parse turns a repeated parameter into an array.
  if (typeof raw !== 'string') return { error: `${name} must be given once` };
  return { value: raw };
}

/** Validates the extra parameters of a token request body (form fields). */
export function parseTokenRequestExtras(body: Readonly<Record<string, unknown>>): ExtrasResult {
  for (const retired of RETIRED_DELEGATION_PARAMETERS) {
    if (body[retired] !== undefined) {
      return {
        ok: false,
        description: `${retired} is not accepted: a delegated token needs the subject's own token (grant_type urn:ietf:params:oauth:grant-type:token-exchange, RFC 8693)`,
      };
    }
  }
  const extras: TokenRequestExtras = {};
  const ttl = single(body, 'ttl');
  if (ttl.error) return { ok: false, description: ttl.error };
  if (ttl.value !== undefined) {
    const n = Number(ttl.value);
    if (!/^\d+$/.test(ttl.value) || !Number.isSafeInteger(n) || n < 1 || n > MAX_TTL_SEC) {
      return { ok: false, description: `ttl must be an integer number of seconds in [1, ${MAX_TTL_SEC}]` };
    }
    extras.ttlSec = n;
  }
  return { ok: true, extras };
}
