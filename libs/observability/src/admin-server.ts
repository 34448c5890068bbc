// A tiny HTTP server for probes and metrics: /healthz (alive), /readyz (ready to serve),
// /metrics (Prometheus text), and a service's own operator actions (POST /<name>, e.g. the
// checkpointer's POST /checkpoint). Binds loopback unless told otherwise.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toGatewayError } from '@agentgate/errors';

export interface AdminServerOptions {
  host?: string;
  port: number;
  /** Named readiness checks; the service is ready when all return true. */
  readiness: () => Record<string, boolean>;
  /** Prometheus exposition text. */
  metrics?: () => string;
  /**
   * Operator actions by path segment: POST /<name> runs one and answers its result as JSON, or a
   * problem with the error's code (503 when retriable, else 500); another method is 405.
   */
  actions?: Record<string, () => Promise<unknown>>;
  /** Told the code of a failed action (its message may hold details that stay out of answers). */
  onActionError?: (name: string, code: string) => void;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

function problem(res: ServerResponse, status: number, title: string, extra: Record<string, unknown> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/problem+json' })
    .end(JSON.stringify({ type: 'about:blank', title, status, ...extra }));
}

/** Starts the admin server; resolves once it listens. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const action = path.startsWith('/') ? options.actions?.[path.slice(1)] : undefined;
    if (action !== undefined) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        problem(res, 405, 'Method Not Allowed');
        return;
      }
      // The body (if any) is not read: an action carries nothing but the wish to run it now.
      req.resume();
      action().then(
        (result) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result)),
        (err: unknown) => {
          const e = toGatewayError(err);
          options.onActionError?.(path.slice(1), e.code);
          problem(res, e.retriable ? 503 : 500, 'The action failed', { code: e.code });
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const checks = options.readiness();
      const ready = Object.values(checks).every(Boolean);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, checks }));
    } else if (path === '/metrics' && options.metrics) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(options.metrics());
    } else {
      problem(res, 404, 'Not Found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // An action waiting on Kafka must not hold the shutdown.
        server.closeAllConnections();
      }),
  };
}
