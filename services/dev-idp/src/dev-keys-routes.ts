// Dev-only key management on the IdP's own HTTP server (runService owns the admin port):
//   GET    /dev/keys          -> 200 { signing, keys: [kid, ...] }   signing key first
//   POST   /dev/keys/rotate   -> 201 { kid, keys }   new key signs from now on; old ones stay published
//   DELETE /dev/keys/<kid>    -> 200 { keys } | 404 unknown kid | 409 refusing to delete the last key
// No authentication: only loopback peers are served, and requests carrying an Origin header
// are refused so a web page in a developer's browser cannot rotate or delete keys.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@agentgate/observability';
import type { SigningKeys } from './signing-keys.js';

export interface DevKeysRoutesDeps {
  keys: SigningKeys;
  /** Called after the key set changed; must make the new set live before it returns. */
  onKeysChanged: () => void;
  logger: Logger;
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}

function problem(res: ServerResponse, status: number, title: string, detail?: string): void {
  res
    .writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
    .end(`${JSON.stringify({ type: 'about:blank', title, status, ...(detail ? { detail } : {}) })}\n`);
}

/** Serves a request whose path starts with /dev/. */
export async function handleDevKeysRequest(req: IncomingMessage, res: ServerResponse, deps: DevKeysRoutesDeps): Promise<void> {
  req.resume(); // bodies are ignored; drain so keep-alive connections stay usable
  if (!isLoopback(req.socket.remoteAddress)) return problem(res, 403, 'Forbidden', 'dev endpoints answer loopback clients only');
  if (req.headers.origin !== undefined) return problem(res, 403, 'Forbidden', 'dev endpoints refuse browser (Origin) requests');

  const path = new URL(req.url ?? '/', 'http://dev-idp.invalid').pathname;
  const { keys, logger } = deps;

  if (path === '/dev/keys') {
    if (req.method !== 'GET') return problem(res, 405, 'Method Not Allowed');
    return send(res, 200, { signing: keys.signingKid(), keys: keys.kids() });
  }
  if (path === '/dev/keys/rotate') {
    if (req.method !== 'POST') return problem(res, 405, 'Method Not Allowed');
    const kid = await keys.rotate();
    deps.onKeysChanged();
    logger.info({ kid, keys: keys.kids().length }, 'signing key rotated');
    return send(res, 201, { kid, keys: keys.kids() });
  }
  const match = /^\/dev\/keys\/([^/]+)$/.exec(path);
  if (match?.[1] !== undefined) {
    if (req.method !== 'DELETE') return problem(res, 405, 'Method Not Allowed');
    let kid: string;
    try {
      kid = decodeURIComponent(match[1]);
    } catch {
      return problem(res, 404, 'Not Found', 'no key with this kid');
    }
    const result = await keys.remove(kid);
    switch (result) {
      case 'unknown-kid':
        return problem(res, 404, 'Not Found', 'no key with this kid');
      case 'last-key':
        return problem(res, 409, 'Conflict', 'refusing to delete the last signing key');
      case 'removed':
        deps.onKeysChanged();
        logger.info({ kid, keys: keys.kids().length }, 'signing key deleted');
        return send(res, 200, { keys: keys.kids() });
      default: {
        const unreachable: never = result;
        throw new Error(`unexpected result ${String(unreachable)}`);
      }
    }
  }
  return problem(res, 404, 'Not Found');
}
