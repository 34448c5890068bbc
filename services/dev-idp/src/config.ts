import { EnvReader, type EnvMap } from '@agentgate/config';

export interface DevIdpConfig {
  serviceName: string;
  /** Address of the IdP's own HTTP server (OIDC endpoints and the /dev/keys routes). */
  host: string;
  port: number;
  /**
   * The `iss` of every token and the base of every endpoint URL. A port of 0 in the issuer
   * (tests listen on port 0) stands for the port the server actually bound.
   */
  issuer: string;
  /** runService's admin server: /healthz, /readyz, /metrics. */
  adminPort: number;
  /** Directory holding jwks.json, the private signing keys. */
  stateDir: string;
  /** JSON file `{ "<client_id>": "<secret>" }` with the demo identities' secrets (mode 600). */
  clientsFile: string;
  /** The `aud` of every access token: what the gateway expects. */
  audience: string;
  tokenTtlSec: number;
  logLevel: string;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap): Readonly<DevIdpConfig> {
  const r = new EnvReader(env);
  return r.done({
    serviceName: r.string('AG_SERVICE_NAME', 'dev-idp'),
    host: r.string('AG_DEV_IDP_HOST', '127.0.0.1'),
    port: r.int('AG_DEV_IDP_PORT', 14000, { min: 0, max: 65535 }),
    issuer: r.url('AG_DEV_IDP_ISSUER', 'http://127.0.0.1:14000'),
    adminPort: r.int('AG_DEV_IDP_ADMIN_PORT', 15483, { min: 0, max: 65535 }),
    stateDir: r.string('AG_DEV_IDP_STATE_DIR'),
    clientsFile: r.string('AG_DEV_IDP_CLIENTS_FILE'),
    audience: r.string('AG_DEV_IDP_AUDIENCE', 'agentgate'),
    tokenTtlSec: r.int('AG_DEV_IDP_TOKEN_TTL_SEC', 3600, { min: 1, max: 86400 }),
    logLevel: r.string('AG_LOG_LEVEL', 'info'),
  });
}

/** The configured issuer, with a port of 0 replaced by the port actually bound. */
export function resolveIssuer(configured: string, boundPort: number): string {
  const url = new URL(configured);
  if (url.port !== '0') return configured;
  url.port = String(boundPort);
  // Issuers are compared as strings: keep the configured form, no trailing slash added.
  return url.pathname === '/' && !configured.endsWith('/') ? url.origin : url.href;
}
