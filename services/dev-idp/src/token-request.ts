// The dev-only parameters of a client_credentials token request and the claims they produce.
//   on_behalf_of=<name>   the principal: becomes `sub`; the client becomes the actor (`act`)
//   via=<name>            an earlier actor in the chain (needs on_behalf_of)
//   ttl=<seconds>         token lifetime, 1..86400 (tests use it to get short-lived tokens)
// Pure: no oidc-provider types, so the rules are testable on their own.

export const MAX_TTL_SEC = 86400;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

export interface TokenRequestExtras {
  onBehalfOf?: string;
  via?: string;
  ttlSec?: number;
}

export type ExtrasResult = { ok: true; extras: TokenRequestExtras } | { ok: false; description: string };

/** RFC 8693 actor claim: `sub` is the current actor, a nested `act` the one before it. */
export interface ActClaim {
  sub: string;
  act?: ActClaim;
}

function single(body: Readonly<Record<string, unknown>>, name: string): { value?: string; error?: string } {
  const raw = body[name];
  if (raw === undefined) return {};
  // querystring.parse turns a repeated parameter into an array.
  if (typeof raw !== 'string') return { error: `${name} must be given once` };
  return { value: raw };
}

/** Validates the extra parameters of a token request body (form fields). */
export function parseTokenRequestExtras(body: Readonly<Record<string, unknown>>): ExtrasResult {
  const extras: TokenRequestExtras = {};
  for (const [param, key] of [
    ['on_behalf_of', 'onBehalfOf'],
    ['via', 'via'],
  ] as const) {
    const { value, error } = single(body, param);
    if (error) return { ok: false, description: error };
    if (value === undefined) continue;
    if (!NAME.test(value)) return { ok: false, description: `${param} must be a name of letters, digits and . _ @ - (at most 128)` };
    extras[key] = value;
  }
  if (extras.via !== undefined && extras.onBehalfOf === undefined) {
    return { ok: false, description: 'via is only meaningful together with on_behalf_of' };
  }
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

/** `sub` and `act` of a token issued to `clientId` for the given request. */
export function delegationClaims(clientId: string, extras: TokenRequestExtras): { sub: string; act?: ActClaim } {
  if (extras.onBehalfOf === undefined) return { sub: clientId };
  const act: ActClaim = { sub: clientId };
  if (extras.via !== undefined) act.act = { sub: extras.via };
  return { sub: extras.onBehalfOf, act };
}
