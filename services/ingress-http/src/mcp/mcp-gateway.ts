// The MCP edge of the HTTP ingress: /mcp/<connection>, MCP's Streamable HTTP transport. Every
// HTTP request carries the agent's token, verified each time; a session belongs to the identity
// that opened it (another identity's request for it is told the session does not exist). A new
// session starts on an initialize request; sessions end when the agent deletes them, when their
// server goes away, when idle too long, or when the gateway stops.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorCode, toGatewayError } from '@agentgate/errors';
import type { Actor } from '@agentgate/events';
import type { MaskingPlans } from '@agentgate/ingress-core';
import { type McpCatalog, mayUseMcp } from '@agentgate/mcp';
import type { Logger } from '@agentgate/observability';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type ClientCapabilities, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { StartExchangeAudit } from '../exchange-audit.js';
import { httpStatus } from '../problems.js';
import { BodyTooLarge, readBody } from '../request-body.js';
import { jsonRpcErrorBody } from './mcp-errors.js';
import { McpGatewaySession, type McpSessionConfig } from './mcp-session.js';

export interface McpGatewayConfig extends McpSessionConfig {
  maxBodyBytes: number;
  /** A session without any request for this long is ended. */
  sessionIdleMs: number;
  /** Sessions the gateway holds at most (each may be a server process). */
  maxSessions: number;
  /** Sessions one identity holds at most; a new one past it ends that identity's least recently used. */
  maxSessionsPerIdentity: number;
}

export interface McpGatewayDeps {
  config: McpGatewayConfig;
  catalog: McpCatalog;
  verifyToken(token: string): Promise<Actor>;
  /** The audit of one MCP session (its approval wait is the MCP one). */
  startAudit: StartExchangeAudit;
  maskingPlans: MaskingPlans;
  /** An SDK client for `connection`'s server with these capabilities, and how to connect it. */
  openUpstream(connectionName: string): { client: Client; connect(): Promise<void> };
  logger: Logger;
  newId: () => string;
}

export interface McpGateway {
  /** Whether `path` is the MCP edge's. */
  owns(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends a session this instance holds on an administrator's request; false when it holds none. */
  kill(sessionId: string, message: string): boolean;
  close(): Promise<void>;
  metrics(): string;
}

const BEARER = /^Bearer +([^\s]+) *$/i;
const MCP_PATH = /^\/mcp\/([A-Za-z0-9][A-Za-z0-9_.-]{0,62})\/?(?:\?.*)?$/;

function refuse(res: ServerResponse, code: ErrorCode, detail: string, status?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  const sent = status ?? httpStatus(code);
  if (sent === 401) headers['www-authenticate'] = 'Bearer';
  res.writeHead(sent, headers).end(jsonRpcErrorBody(code, detail));
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  return JSON.parse((await readBody(req, max)).toString('utf8')) as unknown;
}

export function createMcpGateway(deps: McpGatewayDeps): McpGateway {
  const sessions = new Map<string, McpGatewaySession>();
  let opened = 0;
  let closing = false;
  const reaper = setInterval(
    () => {
      const now = Date.now();
      for (const s of sessions.values()) if (s.idleMs(now) > deps.config.sessionIdleMs) void s.end('idle-timeout', null);
    },
    Math.min(30_000, Math.max(1000, deps.config.sessionIdleMs / 4)),
  );
  reaper.unref();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = MCP_PATH.exec(req.url ?? '');
    if (!match?.[1]) return refuse(res, 'AG_ERR_CONNECTION_UNKNOWN', 'an MCP endpoint is /mcp/<connection>');
    if (closing) return refuse(res, 'AG_ERR_SHUTTING_DOWN', 'the gateway is stopping');
    const auth = BEARER.exec(req.headers.authorization ?? '');
    if (!auth?.[1]) return refuse(res, 'AG_ERR_UNAUTHENTICATED', 'an Authorization: Bearer access token is required');
    let actor: Actor;
    try {
      actor = await deps.verifyToken(auth[1]);
    } catch (err) {
      const e = toGatewayError(err);
      return refuse(res, e.code, e.message);
    }
    const connection = deps.catalog.get(match[1]);
    if (!connection) return refuse(res, 'AG_ERR_CONNECTION_UNKNOWN', `no MCP connection named ${match[1]}`);
    if (!mayUseMcp(connection, actor.groups))
      return refuse(res, 'AG_ERR_CONNECTION_FORBIDDEN', `your groups may not use connection ${connection.name}`);
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readJson(req, deps.config.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge)
          return refuse(res, 'AG_ERR_MESSAGE_TOO_LARGE', `the request exceeds ${deps.config.maxBodyBytes} bytes; nothing was forwarded`);
        return refuse(res, 'AG_ERR_BAD_REQUEST', 'the body is not JSON (JSON-RPC parse error); nothing was forwarded');
      }
    }
    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      // Another identity's session is reported as unknown: its existence is not the agent's to learn.
      if (!session || session.connectionName !== connection.name || !sameIdentity(session.actor, actor))
        return refuse(res, 'AG_ERR_BAD_REQUEST', 'no such MCP session (it ended, or it is not yours); initialize a new one', 404);
      return session.handle(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body))
      return refuse(res, 'AG_ERR_BAD_REQUEST', 'a request without Mcp-Session-Id must be an initialize request (POST)', 400);
    // Clients that never DELETE their sessions (the SDK's close does not) would otherwise hold
    // their slots until idle: past its own cap an identity gives up its least recently used open
    // session. Never one still starting (another initialize of the same agent, racing this one):
    // when every slot is starting, this initialize is refused instead. The choice and the new
    // session's slot are taken before anything is awaited, so racing initializes see each other.
    const live = [...sessions.values()].filter((s) => s.live);
    const own = live.filter((s) => sameIdentity(s.actor, actor));
    let victim: (typeof own)[number] | undefined;
    if (own.length >= deps.config.maxSessionsPerIdentity) {
      victim = own.filter((s) => s.held).sort((a, b) => a.lastActivity - b.lastActivity)[0];
      if (!victim)
        return refuse(
          res,
          'AG_ERR_SESSION_LIMIT',
          `this identity's ${deps.config.maxSessionsPerIdentity} MCP sessions are all still starting; initialize again once one is open`,
        );
    }
    if (live.length - (victim ? 1 : 0) >= deps.config.maxSessions)
      return refuse(res, 'AG_ERR_SESSION_LIMIT', `the gateway holds ${deps.config.maxSessions} MCP sessions already`);
    const evicted = victim?.end('evicted', null);
    const id = deps.newId();
    const session = new McpGatewaySession({
      config: deps.config,
      connection,
      actor,
      sessionId: id,
      audit: deps.startAudit(id, actor),
      maskingPlans: deps.maskingPlans,
      openUpstream: () => deps.openUpstream(connection.name),
      logger: deps.logger,
      newId: deps.newId,
      onClosed: (closed) => sessions.delete(closed),
    });
    sessions.set(id, session);
    await evicted;
    try {
      if (await session.start(req, res, body as { params?: { capabilities?: ClientCapabilities } })) opened++;
    } catch (err) {
      sessions.delete(id);
      const e = toGatewayError(err);
      deps.logger.warn({ sessionId: id, code: e.code }, 'MCP session not started');
      await session.end('error', e.code);
      refuse(res, e.code, `${e.message}; the session was not opened`);
    }
  }

  return {
    owns: (path) => path === '/mcp' || path.startsWith('/mcp/'),
    handle: (req, res) =>
      handle(req, res).catch((err: unknown) => {
        deps.logger.error({ code: toGatewayError(err).code, err: (err as Error).message }, 'MCP request failed');
        refuse(res, 'AG_ERR_INTERNAL', 'internal error');
      }),
    kill(sessionId, message) {
      const session = sessions.get(sessionId);
      if (!session) return false;
      deps.logger.info({ sessionId, message }, 'MCP session killed');
      void session.end('killed', null);
      return true;
    },
    async close() {
      closing = true;
      clearInterval(reaper);
      await Promise.allSettled([...sessions.values()].map((s) => s.end('shutdown', null)));
    },
    metrics: () =>
      `# TYPE agentgate_mcp_sessions_active gauge\nagentgate_mcp_sessions_active ${sessions.size}\n` +
      `# TYPE agentgate_mcp_sessions_opened_total counter\nagentgate_mcp_sessions_opened_total ${opened}\n`,
  };
}

function sameIdentity(a: Actor, b: Actor): boolean {
  return a.subject === b.subject && a.issuer === b.issuer;
}
