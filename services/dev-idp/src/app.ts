// Builds the dev IdP: one node:http server that routes /dev/* to the key-management
// routes and everything else to the current oidc-provider instance. The instance is rebuilt
// and swapped in whenever the signing keys change, so the JWKS endpoint serves the new set
// at once without a restart.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider } from 'oidc-provider';
import { toGatewayError } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import { resolveIssuer, type DevIdpConfig } from './config.js';
import { DEMO_IDENTITIES, type DemoIdentity } from './identities.js';
import { loadOrCreateClientSecrets, type ClientSecrets } from './client-secrets.js';
import { SigningKeys } from './signing-keys.js';
import { buildProvider } from './provider.js';
import { handleDevKeysRequest } from './dev-keys-routes.js';

export interface DevIdpDeps {
  config: Readonly<DevIdpConfig>;
  logger: Logger;
  identities?: readonly DemoIdentity[];
}

export interface DevIdp {
  /** Loads (or creates) secrets and keys, then listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound port; valid after start(). */
  readonly port: number;
  /** The issuer in effect; valid after start(). */
  readonly issuer: string;
  readiness(): Record<string, boolean>;
  metrics(): string;
  describe(): Record<string, unknown>;
}

export function createDevIdp(deps: DevIdpDeps): DevIdp {
  const { config, logger } = deps;
  const identities = deps.identities ?? DEMO_IDENTITIES;
  let server: Server | undefined;
  let keys: SigningKeys | undefined;
  let secrets: ClientSecrets | undefined;
  let issuer = '';
  let port = 0;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let issued = 0;
  let keyChanges = 0;
  const failures = new Map<string, number>();

  function activateProvider(): void {
    if (!keys || !secrets) throw new Error('activateProvider before start');
    const provider: Provider = buildProvider({
      issuer,
      audience: config.audience,
      tokenTtlSec: config.tokenTtlSec,
      jwks: keys.privateJwks(),
      signingKid: keys.signingKid(),
      identities,
      secrets,
    });
    provider.on('grant.success', () => {
      issued += 1;
    });
    provider.on('grant.error', (ctx, error) => {
      failures.set(error.error, (failures.get(error.error) ?? 0) + 1);
      // The client id is an identity name, never a secret; the description names the problem.
      logger.info(
        { clientId: ctx.oidc.client?.clientId, error: error.error, description: error.error_description },
        'token request refused',
      );
    });
    provider.on('server_error', (_ctx, error) => logger.error({ err: error.message }, 'oidc-provider server error'));
    handler = provider.callback();
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (path === '/dev' || path.startsWith('/dev/')) {
      if (!keys) return void res.writeHead(503).end();
      return handleDevKeysRequest(req, res, {
        keys,
        onKeysChanged: () => {
          keyChanges += 1;
          activateProvider();
        },
        logger,
      });
    }
    if (!handler) return void res.writeHead(503, { 'retry-after': '1' }).end();
    handler(req, res);
  }

  return {
    get port() {
      return port;
    },
    get issuer() {
      return issuer;
    },

    async start() {
      secrets = await loadOrCreateClientSecrets(
        config.clientsFile,
        identities.map((i) => i.name),
      );
      keys = await SigningKeys.open(config.stateDir);
      const s = createServer((req, res) => {
        route(req, res).catch((err: unknown) => {
          const e = toGatewayError(err);
          logger.error({ code: e.code, err: e.message }, 'request failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify({ type: 'about:blank', title: 'Internal Server Error', status: 500 }));
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(config.port, config.host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      server = s;
      port = (s.address() as AddressInfo).port;
      issuer = resolveIssuer(config.issuer, port);
      activateProvider();
    },

    async stop() {
      const s = server;
      server = undefined;
      handler = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Keep-alive clients (fetch) would otherwise hold close() open.
        s.closeAllConnections();
      });
    },

    readiness() {
      return { listening: server?.listening === true && handler !== undefined };
    },

    metrics() {
      const lines = [
        '# TYPE agentgate_dev_idp_tokens_issued_total counter',
        `agentgate_dev_idp_tokens_issued_total ${issued}`,
        '# TYPE agentgate_dev_idp_token_errors_total counter',
        ...[...failures].map(([error, n]) => `agentgate_dev_idp_token_errors_total{error=${JSON.stringify(error)}} ${n}`),
        '# TYPE agentgate_dev_idp_key_changes_total counter',
        `agentgate_dev_idp_key_changes_total ${keyChanges}`,
        '# TYPE agentgate_dev_idp_signing_keys gauge',
        `agentgate_dev_idp_signing_keys ${keys?.kids().length ?? 0}`,
      ];
      return `${lines.join('\n')}\n`;
    },

    describe() {
      return { port, issuer, audience: config.audience, signingKid: keys?.signingKid(), identities: identities.map((i) => i.name) };
    },
  };
}
