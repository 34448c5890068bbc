// Builds one oidc-provider instance. It is rebuilt whenever the signing keys change
// (oidc-provider reads `jwks` only at construction), so it holds no state worth keeping:
// tokens are self-contained JWTs and nothing is introspected or revoked.
// Two grants: client_credentials (a client's own token: sub = client) and RFC 8693 token
// exchange (token-exchange.ts: sub = the subject token's sub, act = the client over the
// subject token's act), the only way to a delegated token.
import { Provider, errors, type Adapter, type KoaContextWithOIDC, type ClientMetadata, type TokenEndpointContext } from 'oidc-provider';
import type { DemoIdentity } from './identities.js';
import type { ClientSecrets } from './client-secrets.js';
import { SIGNING_ALG, type PrivateSigningJwk } from './signing-keys.js';
import { parseTokenRequestExtras, type TokenRequestExtras } from './token-request.js';
import {
  EXCHANGE_PARAMETERS,
  TOKEN_EXCHANGE_GRANT,
  TOKEN_TYPE_ACCESS_TOKEN,
  exchangedClaims,
  exchangedLifetimeSec,
  parseExchangeRequest,
  verifySubjectToken,
  type ActClaim,
  type ExchangeError,
} from './token-exchange.js';

/** The resource indicator (RFC 8707) of the gateway; clients need not send it. */
export const GATEWAY_RESOURCE = 'urn:agentgate';
/** The one scope the gateway's resource server offers. */
export const GATEWAY_SCOPE = 'agentgate:connect';

export interface ProviderOptions {
  issuer: string;
  audience: string;
  tokenTtlSec: number;
  jwks: { keys: PrivateSigningJwk[] };
  signingKid: string;
  identities: readonly DemoIdentity[];
  secrets: ClientSecrets;
  /** Clock for checking subject tokens (default: the system clock). */
  now?: () => Date;
}

/** Who a token is issued for: `sub`, and with delegation the actor chain and the latest `exp`. */
interface Issuance {
  sub: string;
  act?: ActClaim;
  notAfterSec?: number;
}

function exchangeError(e: ExchangeError): Error {
  switch (e.error) {
    case 'invalid_request':
      return new errors.InvalidRequest(e.description);
    case 'invalid_grant':
      return new errors.InvalidGrant(e.description);
    case 'invalid_target':
      return new errors.InvalidTarget(e.description);
    default: {
      const unknown: never = e.error;
      return unknown;
    }
  }
}

/**
 * Stores nothing. oidc-provider's default in-memory adapter warns on every start and keeps
 * every issued token in memory; self-contained JWTs issued by client_credentials need neither.
 */
class NullAdapter implements Adapter {
  async upsert(): Promise<void> {}
  async find(): Promise<undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async consume(): Promise<void> {}
  async destroy(): Promise<void> {}
  async revokeByGrantId(): Promise<void> {}
}

export function buildProvider(options: ProviderOptions): Provider {
  const groupsOf = new Map(options.identities.map((i) => [i.name, i.groups]));
  const now = options.now ?? (() => new Date());
  // The public half of every published key: a subject token must be this IdP's own.
  const publicKeys = { keys: options.jwks.keys.map(({ d: _private, ...pub }) => pub) };
  // Parsed once per request and shared by the ttl, claims and customizer hooks below.
  const extrasByRequest = new WeakMap<KoaContextWithOIDC, TokenRequestExtras>();
  // Set by the token-exchange handler; absent for client_credentials (sub = the client).
  const issuanceByRequest = new WeakMap<KoaContextWithOIDC, Issuance>();

  // oidc-provider's `extraParams` only widens the authorization-style endpoints; the token
  // endpoint strips every parameter its grant type did not register. The parsed body
  // (ctx.oidc.body) still has them, so the extras are read from there.
  function extrasOf(ctx: KoaContextWithOIDC): TokenRequestExtras {
    const cached = extrasByRequest.get(ctx);
    if (cached) return cached;
    const result = parseTokenRequestExtras(ctx.oidc.body ?? {});
    if (!result.ok) throw new errors.InvalidRequest(result.description);
    extrasByRequest.set(ctx, result.extras);
    return result.extras;
  }

  function issuanceOf(ctx: KoaContextWithOIDC, clientId: string): Issuance {
    return issuanceByRequest.get(ctx) ?? { sub: clientId };
  }

  const clients: ClientMetadata[] = options.identities.map((identity) => {
    const secret = options.secrets.get(identity.name);
    if (secret === undefined) throw new Error(`no client secret for ${identity.name}`);
    return {
      client_id: identity.name,
      client_secret: secret,
      grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
      // Registered as basic; oidc-provider accepts client_secret_post for such clients too.
      token_endpoint_auth_method: 'client_secret_basic',
    };
  });

  const resourceServerInfo = {
    scope: GATEWAY_SCOPE,
    audience: options.audience,
    accessTokenFormat: 'jwt' as const,
    accessTokenTTL: options.tokenTtlSec,
    // Name the kid: oidc-provider would otherwise pick any key that fits the alg.
    jwt: { sign: { alg: SIGNING_ALG, kid: options.signingKid } },
  };

  const provider = new Provider(options.issuer, {
    adapter: NullAdapter,
    clients,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    // The default (RS256) would need an RSA key; every client is checked against it when
    // it is loaded, ID tokens or not, and fails with invalid_client_metadata.
    clientDefaults: { id_token_signed_response_alg: SIGNING_ALG },
    jwks: options.jwks,
    responseTypes: ['none'],
    features: {
      // Only client_credentials is used, so there is no login page to show.
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      clientCredentials: { enabled: true },
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        async defaultResource() {
          return GATEWAY_RESOURCE;
        },
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== GATEWAY_RESOURCE) throw new errors.InvalidTarget(`the only resource is ${GATEWAY_RESOURCE}`);
          return resourceServerInfo;
        },
      },
    },
    ttl: {
      ClientCredentials: (ctx) => extrasOf(ctx).ttlSec ?? options.tokenTtlSec,
    },
    async extraTokenClaims(ctx, token) {
      // Checked here too so that client_credentials refuses on_behalf_of/via even when no ttl hook ran.
      extrasOf(ctx);
      const { act } = issuanceOf(ctx, token.clientId);
      // Groups are always the client's own: with delegation, the acting agent's (the client
      // that made the last exchange), never the subject's.
      return { groups: [...(groupsOf.get(token.clientId) ?? [])], ...(act ? { act } : {}) };
    },
    formats: {
      customizers: {
        // oidc-provider writes `sub` after the extra claims (sub = client_id for these grants),
        // so extraTokenClaims cannot set it; the JWT customizer runs last and can.
        jwt(ctx, token, jwt) {
          const issuance = issuanceOf(ctx, token.clientId);
          jwt.payload.sub = issuance.sub;
          // A delegated token never outlives the subject's: the lifetime was cut to fit, and
          // this also covers a second boundary passing between that cut and oidc-provider's iat.
          const exp = jwt.payload.exp;
          if (issuance.notAfterSec !== undefined && typeof exp === 'number' && exp > issuance.notAfterSec) {
            jwt.payload.exp = issuance.notAfterSec;
          }
          // A request without `scope` gets every scope of the resource server (like a
          // default scope) instead of a token with no scope claim at all.
          jwt.payload.scope ??= GATEWAY_SCOPE;
        },
      },
    },
  });

  // RFC 8693 token exchange. oidc-provider 9 has no built-in handler for it; registerGrantType
  // adds the grant to discovery and routes it here after client authentication.
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: TokenEndpointContext) => {
      const client = ctx.oidc.client;
      if (!client) throw new errors.InvalidRequest('the client is not authenticated');
      const extras = extrasOf(ctx);
      const request = parseExchangeRequest(ctx.oidc.params ?? {}, {
        audience: options.audience,
        resource: GATEWAY_RESOURCE,
        scope: GATEWAY_SCOPE,
      });
      if (!request.ok) throw exchangeError(request);
      const verified = await verifySubjectToken(request.subjectToken, {
        issuer: options.issuer,
        audience: options.audience,
        keys: publicKeys,
        algorithms: [SIGNING_ALG],
        now,
      });
      if (!verified.ok) throw exchangeError(verified);
      const claims = exchangedClaims(client.clientId, verified.claims, options.issuer);
      if (!claims.ok) throw exchangeError(claims);
      const nowSec = Math.floor(now().getTime() / 1000);
      const lifetime = exchangedLifetimeSec(extras.ttlSec ?? options.tokenTtlSec, claims.notAfterSec, nowSec);
      if (lifetime < 1) throw new errors.InvalidGrant('subject_token expires within a second');
      issuanceByRequest.set(ctx, { sub: claims.sub, act: claims.act, notAfterSec: claims.notAfterSec });

      const token = new provider.ClientCredentials({ client, scope: GATEWAY_SCOPE });
      token.resourceServer = new provider.ResourceServer(GATEWAY_RESOURCE, resourceServerInfo);
      token.expiresIn = lifetime;
      const accessToken = await token.save();
      ctx.body = {
        access_token: accessToken,
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        token_type: token.tokenType,
        expires_in: lifetime,
        scope: GATEWAY_SCOPE,
      };
    },
    EXCHANGE_PARAMETERS,
  );
  return provider;
}
