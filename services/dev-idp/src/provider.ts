// Builds one oidc-provider instance. It is rebuilt whenever the signing keys change
// (oidc-provider reads `jwks` only at construction), so it holds no state worth keeping:
// tokens are self-contained JWTs and nothing is introspected or revoked.
import { Provider, errors, type Adapter, type KoaContextWithOIDC, type ClientMetadata } from 'oidc-provider';
import type { DemoIdentity } from './identities.js';
import type { ClientSecrets } from './client-secrets.js';
import { SIGNING_ALG, type PrivateSigningJwk } from './signing-keys.js';
import { delegationClaims, parseTokenRequestExtras, type TokenRequestExtras } from './token-request.js';

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
  // Parsed once per request and shared by the ttl, claims and customizer hooks below.
  const extrasByRequest = new WeakMap<KoaContextWithOIDC, TokenRequestExtras>();

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

  const clients: ClientMetadata[] = options.identities.map((identity) => {
    const secret = options.secrets.get(identity.name);
    if (secret === undefined) throw new Error(`no client secret for ${identity.name}`);
    return {
      client_id: identity.name,
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      // Registered as basic; oidc-provider accepts client_secret_post for such clients too.
      token_endpoint_auth_method: 'client_secret_basic',
    };
  });

  return new Provider(options.issuer, {
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
          return {
            scope: GATEWAY_SCOPE,
            audience: options.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: options.tokenTtlSec,
            // Name the kid: oidc-provider would otherwise pick any key that fits the alg.
            jwt: { sign: { alg: SIGNING_ALG, kid: options.signingKid } },
          };
        },
      },
    },
    ttl: {
      ClientCredentials: (ctx) => extrasOf(ctx).ttlSec ?? options.tokenTtlSec,
    },
    async extraTokenClaims(ctx, token) {
      const { act } = delegationClaims(token.clientId, extrasOf(ctx));
      // Groups are always the client's own: with delegation, the acting agent's.
      return { groups: [...(groupsOf.get(token.clientId) ?? [])], ...(act ? { act } : {}) };
    },
    formats: {
      customizers: {
        // oidc-provider writes `sub` after the extra claims (sub = client_id for this grant),
        // so extraTokenClaims cannot set it; the JWT customizer runs last and can.
        jwt(ctx, token, jwt) {
          jwt.payload.sub = delegationClaims(token.clientId, extrasOf(ctx)).sub;
          // A request without `scope` gets every scope of the resource server (like a
          // default scope) instead of a token with no scope claim at all.
          jwt.payload.scope ??= GATEWAY_SCOPE;
        },
      },
    },
  });
}
