// Access tokens from the development IdP (services/dev-idp) for its demo identities: a
// client_credentials request with the identity's secret from the clients file the IdP writes.
// Development only: real deployments get tokens from their own IdP.
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
  name: string;
  onBehalfOf?: string | undefined;
  via?: string | undefined;
  ttlSec?: number | undefined;
}

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

/** Requests a token; the client secret is sent to the IdP only and never appears in an error. */
export async function requestDevToken(idp: DevIdpEndpoint, request: DevTokenRequest): Promise<IssuedToken> {
  const timeoutMs = idp.timeoutMs ?? 10_000;
  const clients = await readClients(idp.clientsFile, idp.issuer);
  const secret = Object.hasOwn(clients, request.name) ? clients[request.name] : undefined;
  if (typeof secret !== 'string') {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `unknown identity ${JSON.stringify(request.name)}; known: ${Object.keys(clients).sort().join(', ')}`,
    );
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

  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.onBehalfOf !== undefined) form.set('on_behalf_of', request.onBehalfOf);
  if (request.via !== undefined) form.set('via', request.via);
  if (request.ttlSec !== undefined) form.set('ttl', String(request.ttlSec));
  // RFC 6749 section 2.3.1: id and secret are form-urlencoded before they are joined for Basic.
  const basic = Buffer.from(`${encodeURIComponent(request.name)}:${encodeURIComponent(secret)}`).toString('base64');
  const { status, body } = await fetchJson(
    tokenEndpoint,
    {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
    },
    timeoutMs,
  );

  const accessToken = body?.['access_token'];
  if (status !== 200 || typeof accessToken !== 'string') {
    const error = typeof body?.['error'] === 'string' ? body['error'] : 'no access_token in the answer';
    const description = typeof body?.['error_description'] === 'string' ? `: ${body['error_description']}` : '';
    const message = `the development IdP refused a token for ${request.name} (HTTP ${status} ${error}${description})`;
    // invalid_request is about the arguments given (a bad --on-behalf-of name); anything else
    // (invalid_client: the clients file and the IdP disagree) is the IdP's side.
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
