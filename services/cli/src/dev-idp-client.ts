// Access tokens from the development IdP (services/dev-idp) for its demo identities: a
// client_credentials request with the identity's secret from the clients file the IdP writes.
// A delegated token is made the way a real deployment would make it: the principal gets its
// own token, then each actor in turn exchanges the token it was handed (RFC 8693 token
// exchange), principal -> via -> identity. Development only: the CLI can play every part here
// because it can read every demo secret; real deployments get tokens from their own IdP.
import { readFile } from 'node:fs/promises';
import { GatewayError } from '@agentgate/errors';
import { unavailable } from './backends.js';

export interface DevIdpEndpoint {
  issuer: string;
  clientsFile: string;
  /** Per request (discovery, token); default 10 s. */
  timeoutMs?: number;
}

export interface DevTokenRequest {
  /** The identity the token is for: without delegation its subject, with delegation the current actor. */
  name: string;
  /** The principal: gets its own token first, which the actors then exchange. */
  onBehalfOf?: string | undefined;
  /** An actor between the principal and `name` (the first to exchange the principal's token). */
  via?: string | undefined;
  ttlSec?: number | undefined;
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The IdP's answer (RFC 6749 section 5.1). */
export interface IssuedToken {
  accessToken: string;
  tokenType: string;
  expiresInSec: number | null;
}

/** The identity names in the clients file, sorted: for "unknown identity" messages. */
async function readClients(file: string, issuer: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    // The IdP writes the file on its first start; without it, the IdP was never started here.
    throw new GatewayError(
      'AG_ERR_IDP_UNAVAILABLE',
      `cannot read the development IdP's clients file ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); has the dev IdP (${issuer}) been started?`,
      { cause },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `the clients file ${file} is not valid JSON`, { cause });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `the clients file ${file} must hold a JSON object`);
  }
  return doc as Record<string, unknown>;
}

async function fetchJson(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw unavailable('the development IdP', url, cause);
  }
  const body = (await response.json().catch(() => null)) as unknown;
  return {
    status: response.status,
    body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null,
  };
}

/** Requests a token; the client secrets are sent to the IdP only and never appear in an error. */
export async function requestDevToken(idp: DevIdpEndpoint, request: DevTokenRequest): Promise<IssuedToken> {
  const timeoutMs = idp.timeoutMs ?? 10_000;
  const clients = await readClients(idp.clientsFile, idp.issuer);
  // Every party of the chain needs its own secret: the principal to prove the delegation, each
  // actor to authenticate its exchange. Unknown names are reported before anything is sent.
  const chain = [request.onBehalfOf, request.via, request.name].filter((n): n is string => n !== undefined);
  const secrets = new Map<string, string>();
  for (const name of chain) {
    const secret = Object.hasOwn(clients, name) ? clients[name] : undefined;
    if (typeof secret !== 'string') {
      throw new GatewayError(
        'AG_ERR_CONFIG_INVALID',
        `unknown identity ${JSON.stringify(name)}; known: ${Object.keys(clients).sort().join(', ')}`,
      );
    }
    secrets.set(name, secret);
  }

  const discovery = await fetchJson(
    `${idp.issuer}/.well-known/openid-configuration`,
    { headers: { accept: 'application/json' } },
    timeoutMs,
  );
  const tokenEndpoint = discovery.body?.['token_endpoint'];
  if (discovery.status !== 200 || typeof tokenEndpoint !== 'string') {
    throw new GatewayError(
      'AG_ERR_IDP_UNAVAILABLE',
      `the development IdP at ${idp.issuer} answered discovery with HTTP ${discovery.status} and no token_endpoint; is AG_DEV_IDP_ISSUER right?`,
    );
  }

  const ttl: Record<string, string> = request.ttlSec === undefined ? {} : { ttl: String(request.ttlSec) };
  const [first, ...actors] = chain;
  if (first === undefined) throw new GatewayError('AG_ERR_INTERNAL', 'no identity to request a token for');
  let issued = await postTokenRequest(
    tokenEndpoint,
    first,
    secrets.get(first) ?? '',
    { grant_type: 'client_credentials', ...ttl },
    `a token for ${first}`,
    timeoutMs,
  );
  let holder = first;
  for (const actor of actors) {
    issued = await postTokenRequest(
      tokenEndpoint,
      actor,
      secrets.get(actor) ?? '',
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: issued.accessToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        requested_token_type: ACCESS_TOKEN_TYPE,
        ...ttl,
      },
      `${actor} the exchange of ${holder}'s token`,
      timeoutMs,
    );
    holder = actor;
  }
  return issued;
}

/** One token endpoint request, authenticated as `clientId` (client_secret_basic). */
async function postTokenRequest(
  tokenEndpoint: string,
  clientId: string,
  secret: string,
  fields: Record<string, string>,
  what: string,
  timeoutMs: number,
): Promise<IssuedToken> {
  // RFC 6749 section 2.3.1: id and secret are form-urlencoded before they are joined for Basic.
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const { status, body } = await fetchJson(
    tokenEndpoint,
    {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(fields),
    },
    timeoutMs,
  );

  const accessToken = body?.['access_token'];
  if (status !== 200 || typeof accessToken !== 'string') {
    const error = typeof body?.['error'] === 'string' ? body['error'] : 'no access_token in the answer';
    const description = typeof body?.['error_description'] === 'string' ? `: ${body['error_description']}` : '';
    const message = `the development IdP refused ${what} (HTTP ${status} ${error}${description})`;
    // invalid_request is about the arguments given (a bad --ttl); anything else (invalid_client:
    // the clients file and the IdP disagree; invalid_grant: a refused exchange) is the IdP's side.
    throw new GatewayError(error === 'invalid_request' ? 'AG_ERR_CONFIG_INVALID' : 'AG_ERR_IDP_UNAVAILABLE', message);
  }
  const expiresIn = body?.['expires_in'];
  return {
    accessToken,
    tokenType: typeof body?.['token_type'] === 'string' ? body['token_type'] : 'Bearer',
    expiresInSec: typeof expiresIn === 'number' ? expiresIn : null,
  };
}

/** What an issued token says about itself, read without verification (for display only). */
export interface TokenClaimsView {
  subject: string | null;
  issuer: string | null;
  groups: string[];
  /** Actors outermost (current) first, as in nested RFC 8693 `act` claims. */
  actors: string[];
  clientId: string | null;
  tokenId: string | null;
  expiresAt: Date | null;
  issuedAt: Date | null;
}

/** Decodes a JWT's payload; null fields when the token is not a JWT. Pure; trusts nothing. */
export function readUnverifiedClaims(token: string): TokenClaimsView {
  let claims: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) claims = parsed as Record<string, unknown>;
  } catch {
    // not a JWT: every field stays empty
  }
  const str = (k: string): string | null => (typeof claims[k] === 'string' ? claims[k] : null);
  const time = (k: string): Date | null => (typeof claims[k] === 'number' ? new Date(claims[k] * 1000) : null);
  const actors: string[] = [];
  let act = claims['act'];
  for (let depth = 0; depth < 8 && typeof act === 'object' && act !== null; depth++) {
    const sub = (act as Record<string, unknown>)['sub'];
    if (typeof sub === 'string') actors.push(sub);
    act = (act as Record<string, unknown>)['act'];
  }
  const groups = claims['groups'];
  return {
    subject: str('sub') ?? str('client_id'),
    issuer: str('iss'),
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    actors,
    clientId: str('client_id'),
    tokenId: str('jti'),
    expiresAt: time('exp'),
    issuedAt: time('iat'),
  };
}
