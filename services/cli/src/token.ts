// `agentgate token <identity>`: an access token from the development IdP. stdout carries only
// the token and a newline, so `PGPASSWORD=$(npx agentgate token demo-agent)` works.
import type { CliConfig } from './config.js';
import { readUnverifiedClaims, requestDevToken, type DevTokenRequest, type IssuedToken } from './dev-idp-client.js';
import { printJson, type CliIo } from './output.js';

export interface TokenOptions {
  onBehalfOf?: string | undefined;
  via?: string | undefined;
  ttl?: number | undefined;
  json: boolean;
}

/** The --json document: the token and what it claims (as issued; `whoami` verifies). */
export function tokenDocument(issued: IssuedToken, now: Date): Record<string, unknown> {
  const claims = readUnverifiedClaims(issued.accessToken);
  const expiresAt = claims.expiresAt ?? (issued.expiresInSec === null ? null : new Date(now.getTime() + issued.expiresInSec * 1000));
  return {
    access_token: issued.accessToken,
    token_type: issued.tokenType,
    expires_in: issued.expiresInSec,
    expires_at: expiresAt?.toISOString() ?? null,
    subject: claims.subject,
    issuer: claims.issuer,
    groups: claims.groups,
    // RFC 8693 order: the current actor first, then whoever it acts via.
    actors: claims.actors,
    client_id: claims.clientId,
    token_id: claims.tokenId,
  };
}

export async function token(config: Readonly<CliConfig>, identity: string, options: TokenOptions, io: CliIo): Promise<number> {
  const request: DevTokenRequest = { name: identity, onBehalfOf: options.onBehalfOf, via: options.via, ttlSec: options.ttl };
  const issued = await requestDevToken({ issuer: config.devIdpIssuer, clientsFile: config.devIdpClientsFile }, request);
  if (options.json) printJson(io, tokenDocument(issued, new Date()));
  else io.out(`${issued.accessToken}\n`);
  return 0;
}
