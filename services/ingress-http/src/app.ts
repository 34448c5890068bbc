// Builds the HTTP ingress: an HTTPS server whose every request is one exchange (exchange.ts),
// and one undici dispatcher per connection (its upstream's CA, connect and idle timeouts).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { Agent, type Dispatcher } from 'undici';
import type { HttpIngressConfig } from './config.js';
import type { HttpConnection } from './connections.js';
import { type ExchangeDeps, type ExchangeEnd, handleExchange } from './exchange.js';
import type { McpGateway } from './mcp/mcp-gateway.js';
import { sendProblem } from './problems.js';
import { exchangeStages, type McpStage, type StageObserver } from './stage-metrics.js';

export interface HttpIngressDeps extends Omit<ExchangeDeps, 'dispatcherFor' | 'config' | 'observeStage'> {
  config: ExchangeDeps['config'] &
    Pick<HttpIngressConfig, 'upstreamConnectTimeoutMs' | 'upstreamHeadersTimeoutMs' | 'upstreamBodyTimeoutMs'>;
  /** PEM certificate (chain) and key the ingress serves. */
  tls: { cert: string | Buffer; key: string | Buffer };
  /** The MCP edge (/mcp/<connection>); without it those paths are HTTP connections' like any other. */
  mcp?: McpGateway;
  /** Told how long each POST of an open MCP session took in the ingress (stage `post`). */
  observeMcp?: StageObserver<McpStage>;
}

export interface HttpIngressServer {
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
  metrics(): string;
}

const ENDS: readonly ExchangeEnd[] = ['refused', 'denied', 'forwarded', 'failed', 'cancelled'];

export function createHttpIngress(deps: HttpIngressDeps): HttpIngressServer {
  const dispatchers = new Map<string, Dispatcher>();
  // Read at start like every credential: a CA file that cannot be read fails the start.
  for (const name of deps.catalog.names()) {
    const connection = deps.catalog.get(name)!;
    let ca: string | undefined;
    if (connection.caFile !== null) {
      try {
        ca = readFileSync(connection.caFile, 'utf8');
      } catch (cause) {
        throw new GatewayError('AG_ERR_CONFIG_INVALID', `connection ${name}: cannot read tls.caFile ${connection.caFile}`, { cause });
      }
    }
    dispatchers.set(
      name,
      new Agent({
        connect: { timeout: deps.config.upstreamConnectTimeoutMs, ...(ca === undefined ? {} : { ca }) },
        headersTimeout: deps.config.upstreamHeadersTimeoutMs,
        bodyTimeout: deps.config.upstreamBodyTimeoutMs,
      }),
    );
  }
  const stages = exchangeStages();
  const exchangeDeps: ExchangeDeps = {
    ...deps,
    observeStage: stages.observe,
    dispatcherFor: (connection: HttpConnection) => {
      const d = dispatchers.get(connection.name);
      if (!d) throw new GatewayError('AG_ERR_CONNECTION_UNKNOWN', `no HTTP connection named ${connection.name}`);
      return d;
    },
  };
  const counts = new Map<ExchangeEnd, number>(ENDS.map((e) => [e, 0]));
  let active = 0;
  const server = createServer({ cert: deps.tls.cert, key: deps.tls.key }, (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (deps.mcp?.owns(path)) {
      const { observeMcp } = deps;
      if (observeMcp && req.method === 'POST' && req.headers['mcp-session-id'] !== undefined) {
        const at = performance.now();
        res.once('finish', () => observeMcp('post', performance.now() - at));
      }
      void deps.mcp.handle(req, res);
      return;
    }
    active++;
    handleExchange(exchangeDeps, req, res)
      .then((end) => counts.set(end, (counts.get(end) ?? 0) + 1))
      .catch((err: unknown) => {
        deps.logger.error({ code: toGatewayError(err).code }, 'exchange failed');
        sendProblem(res, { code: 'AG_ERR_INTERNAL', detail: 'internal error' });
      })
      .finally(() => {
        active--;
      });
  });
  server.on('tlsClientError', (err) => deps.logger.debug({ err: err.message }, 'TLS handshake failed'));
  server.on('clientError', (err, socket) => {
    deps.logger.debug({ err: err.message }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    async close() {
      await deps.mcp?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await Promise.all([...dispatchers.values()].map((d) => d.close()));
    },
    metrics: () =>
      (deps.mcp?.metrics() ?? '') +
      stages.render() +
      `# TYPE agentgate_http_requests_total counter\n${ENDS.map((e) => `agentgate_http_requests_total{end="${e}"} ${counts.get(e) ?? 0}\n`).join('')}` +
      `# TYPE agentgate_http_requests_active gauge\nagentgate_http_requests_active ${active}\n`,
  };
}
