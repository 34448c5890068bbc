// oidc-provider ships no TypeScript types, and @types/oidc-provider tracks an older major.
// This declares only the part of the v9 API the dev IdP uses; anything else stays untyped
// on purpose so a new use has to be checked against the library's source first.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** A private JWK as oidc-provider accepts it in `jwks.keys` (key members by kty). */
  export interface ProviderJwk {
    kty: string;
    kid?: string;
    alg?: string;
    use?: string;
  }

  export interface ProviderClient {
    readonly clientId: string;
  }

  /** The request context oidc-provider passes to configuration functions (a Koa context). */
  export interface KoaContextWithOIDC {
    readonly oidc: {
      /** The parsed request body, before oidc-provider strips unrecognised parameters. */
      readonly body?: Readonly<Record<string, unknown>>;
      readonly client?: ProviderClient;
      readonly route?: string;
      /** The recognised parameters of the request (for the token endpoint: those its grant registered). */
      readonly params?: Readonly<Record<string, unknown>>;
    };
  }

  /** The context a grant handler registered with registerGrantType gets; it answers by setting `body`. */
  export interface TokenEndpointContext extends KoaContextWithOIDC {
    body: unknown;
  }

  /** An access token of the client_credentials model; its format (jwt) comes from the resource server. */
  export interface ClientCredentialsToken {
    resourceServer: ResourceServerModel | undefined;
    /** Lifetime in seconds; when unset, the `ttl.ClientCredentials` configuration decides. */
    expiresIn: number | undefined;
    readonly tokenType: string;
    /** Signs (or stores) the token and returns its value. */
    save(): Promise<string>;
  }

  export interface ResourceServerModel {
    readonly audience?: string;
    readonly scope: string;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string; kid?: string } };
  }

  /** The access token model handed to ttl, extraTokenClaims and the JWT customizer. */
  export interface AccessTokenModel {
    readonly kind: string;
    readonly clientId: string;
    readonly jti: string;
    scope?: string;
  }

  export interface JwtToCustomize {
    header: Record<string, unknown> | undefined;
    payload: Record<string, unknown>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    [member: string]: unknown;
  }

  /** Stores tokens, sessions and the like; one instance per model name. */
  export interface Adapter {
    upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void>;
    find(id: string): Promise<Record<string, unknown> | undefined>;
    findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined>;
    findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface Configuration {
    adapter?: new (name: string) => Adapter;
    clients?: ClientMetadata[];
    clientAuthMethods?: string[];
    clientDefaults?: Partial<ClientMetadata>;
    jwks?: { keys: ProviderJwk[] };
    responseTypes?: string[];
    scopes?: string[];
    features?: {
      devInteractions?: { enabled: boolean };
      pushedAuthorizationRequests?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: { enabled: boolean };
      revocation?: { enabled: boolean };
      userinfo?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: KoaContextWithOIDC, client: ProviderClient, oneOf?: string[]) => Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: KoaContextWithOIDC, model: unknown) => Promise<boolean>;
        getResourceServerInfo?: (ctx: KoaContextWithOIDC, resourceIndicator: string, client: ProviderClient) => Promise<ResourceServerInfo>;
      };
    };
    ttl?: Record<string, number | ((ctx: KoaContextWithOIDC, token: AccessTokenModel, client: ProviderClient) => number)>;
    extraTokenClaims?: (ctx: KoaContextWithOIDC, token: AccessTokenModel) => Promise<Record<string, unknown> | undefined>;
    formats?: {
      customizers?: {
        jwt?: (ctx: KoaContextWithOIDC, token: AccessTokenModel, jwt: JwtToCustomize) => Promise<void> | void;
      };
    };
  }

  /** An OAuth 2.0 / OpenID Connect error; `error` is the wire code, e.g. `invalid_client`. */
  export class OIDCProviderError extends Error {
    readonly error: string;
    readonly error_description?: string;
    readonly status: number;
  }

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidRequest: new (description?: string) => OIDCProviderError;
    InvalidGrant: new (description?: string) => OIDCProviderError;
    InvalidTarget: new (description?: string) => OIDCProviderError;
  };

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** A node:http request listener (Provider is a Koa application). */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    /** Adds a grant type: `handler` runs after client authentication with only `params` (and auth) kept. */
    registerGrantType(name: string, handler: (ctx: TokenEndpointContext) => Promise<void>, params?: readonly string[]): void;
    readonly ClientCredentials: new (init: {
      client: ProviderClient;
      scope?: string;
    }) => ClientCredentialsToken;
    readonly ResourceServer: new (
      identifier: string,
      info: ResourceServerInfo,
    ) => ResourceServerModel;
    on(event: 'grant.success', listener: (ctx: KoaContextWithOIDC) => void): this;
    on(event: 'grant.error' | 'server_error', listener: (ctx: KoaContextWithOIDC, error: OIDCProviderError) => void): this;
  }

  export default Provider;
}
