// The admin port: /healthz, /readyz and /metrics as every service serves them
// (libs/observability admin-server.ts), plus POST /checkpoint, which signs one now and answers
// once Kafka has it. The shared admin server has no way to add a route, hence this one.
// Loopback only: a checkpoint only ever states what was read, but nobody off the host may
// make the service sign at will.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toGatewayError } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import type { CheckpointResult } from './app.js';

export interface AdminHttpOptions {
  port: number;
  readiness: () => Record<string, boolean>;
  metrics: () => string;
  checkpoint: () => Promise<CheckpointResult>;
  logger: Logger;
}

export interface AdminHttp {
  readonly port: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startAdminHttp(options: AdminHttpOptions): Promise<AdminHttp> {
  const json = (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
    res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz' && req.method === 'GET') {
      const checks = options.readiness();
      const ready = Object.values(checks).every(Boolean);
      json(res, ready ? 200 : 503, { ready, checks });
    } else if (path === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(options.metrics());
    } else if (path === '/checkpoint' && req.method === 'POST') {
      // The body (if any) is not read: the request carries nothing but the wish to sign now.
      req.resume();
      options.checkpoint().then(
        (result) => json(res, 200, result),
        (err: unknown) => {
          const e = toGatewayError(err);
          options.logger.error({ code: e.code }, 'checkpoint on request failed');
          const status = e.retriable ? 503 : 500;
          json(res, status, { type: 'about:blank', title: 'No checkpoint signed', status, code: e.code }, 'application/problem+json');
        },
      );
    } else if (path === '/checkpoint') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Method Not Allowed', status: 405 }));
    } else {
      json(res, 404, { type: 'about:blank', title: 'Not Found', status: 404 }, 'application/problem+json');
    }
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, HOST, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
