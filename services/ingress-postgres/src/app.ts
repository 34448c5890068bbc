// Builds the PostgreSQL ingress: a TCP server whose every connection is an AgentSession.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@agentgate/observability';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { errorResponse } from '@agentgate/pg-wire';
import type { AgentIdentity, SessionDeps } from './session.js';
import { AgentSession } from './session.js';
import { sqlStateFor } from './sqlstate.js';
import { actingAgent, createSessionQuota } from './session-quota.js';
import { resolveCredential } from '@agentgate/ingress-core';
import { FunctionLookups } from './function-lookup.js';
import { FunctionResolver } from './function-resolver.js';
import { CatalogConnections } from './catalog-connection.js';
import { RelationCatalog, RelationReply, relationMessages } from './relation-catalog.js';
import { blastRadiusEvent, ExplainReply, explainMessages } from './blast-radius.js';

// Function OIDs answered per (connection, role) kept at most; an unused lookup connection closes after this.
const MAX_FUNCTION_ANSWERS = 10_000;
const FUNCTION_LOOKUP_IDLE_MS = 5000;
// Table names for masking: cached this long (DDL through the gateway drops them at once), and
// at most this many tables per connection.
const RELATION_TTL_MS = 60_000;
const MAX_RELATIONS_PER_CONNECTION = 10_000;

export interface IngressServer {
  listen(host: string, port: number): Promise<number>;
  /** Ends a live session held by this instance; false when it holds no such session. */
  kill(sessionId: string, message: string): boolean;
  close(): Promise<void>;
  sessionCount(): number;
  metrics(): string;
}

export function createIngressServer(
  base: Omit<SessionDeps, 'resolveFunction' | 'resolveRelations' | 'invalidateRelations' | 'estimateBlastRadius'> & {
    logger: Logger;
    /** Where blast radius estimates for approvals are recorded. */
    approvalsTopic: string;
  },
): IngressServer {
  // FunctionCall OIDs are resolved on lookup connections of the gateway's own, cached (function-resolver.ts).
  const resolver = new FunctionResolver({ ttlMs: base.config.functionCacheTtlMs, maxEntries: MAX_FUNCTION_ANSWERS, now: Date.now });
  const lookups = new FunctionLookups({
    connectTimeoutMs: base.config.upstreamConnectTimeoutMs,
    lookupTimeoutMs: base.config.functionLookupTimeoutMs,
    idleCloseMs: FUNCTION_LOOKUP_IDLE_MS,
    maxMessageBytes: base.config.maxMessageBytes,
    env: base.env,
    resolvePassword: resolveCredential,
    logger: base.logger,
  });
  // Result columns are named on catalog connections of the gateway's own, cached (relation-catalog.ts).
  const relationConnections = new CatalogConnections({
    connectTimeoutMs: base.config.upstreamConnectTimeoutMs,
    queryTimeoutMs: base.config.functionLookupTimeoutMs,
    idleCloseMs: FUNCTION_LOOKUP_IDLE_MS,
    maxMessageBytes: base.config.maxMessageBytes,
    env: base.env,
    resolvePassword: resolveCredential,
    logger: base.logger,
    applicationName: 'agentgate catalog lookup',
    timeoutCode: 'AG_ERR_MASKING_UNSUPPORTED',
  });
  const relations = new RelationCatalog({ ttlMs: RELATION_TTL_MS, maxEntriesPerConnection: MAX_RELATIONS_PER_CONNECTION, now: Date.now });
  const deps: SessionDeps & { logger: Logger } = {
    ...base,
    resolveFunction: (connection, login, oid) =>
      resolver.resolve(connection.name, login.username, oid, lookups.lookupFor(connection, login)),
    resolveRelations: (connection, login, oids) =>
      relations.resolve(connection.name, oids, (missing) =>
        relationConnections.query(connection, login, relationMessages(missing), new RelationReply()),
      ),
    invalidateRelations: (connection) => relations.invalidate(connection),
    estimateBlastRadius: (connection, login, approval) => {
      const timeoutMs = base.config.blastRadiusTimeoutMs;
      void relationConnections
        .query(connection, login, explainMessages(approval.text, approval.parameters, timeoutMs), new ExplainReply())
        .catch((err: unknown) => ({ estimatedRows: null, planSummary: null, error: `no estimate: ${toGatewayError(err).code}` }))
        .then((radius) => {
          const event = blastRadiusEvent(approval.approvalId, approval.requestId, radius, base.config.instanceId, base.nowUs());
          return base.sink.write(base.approvalsTopic, event, base.config.auditWriteTimeoutMs);
        })
        .catch((err: unknown) =>
          base.logger.warn({ code: toGatewayError(err).code, approvalId: approval.approvalId }, 'blast radius estimate not recorded'),
        );
    },
  };
  const sessions = new Set<AgentSession>();
  const byId = new Map<string, AgentSession>();
  // Each session counts against its subject and its acting agent (session-quota.ts).
  const quota = createSessionQuota(deps.config);
  const admit = (identity: AgentIdentity): (() => void) => quota.admit({ subject: identity.subject, actor: actingAgent(identity) });
  // Connections still authenticating, in total and per client address: a flood of half-open
  // connections must not starve agents that authenticate.
  let unauthenticated = 0;
  const unauthenticatedBy = new Map<string, number>();
  let refusedUnauthenticated = 0;
  const preAuthSlot = (address: string): (() => void) | undefined => {
    const mine = unauthenticatedBy.get(address) ?? 0;
    if (unauthenticated >= deps.config.maxUnauthenticated || mine >= deps.config.maxUnauthenticatedPerAddress) return undefined;
    unauthenticated++;
    unauthenticatedBy.set(address, mine + 1);
    return () => {
      unauthenticated--;
      const left = (unauthenticatedBy.get(address) ?? 1) - 1;
      if (left <= 0) unauthenticatedBy.delete(address);
      else unauthenticatedBy.set(address, left);
    };
  };
  const upstreams = new Map<string, number>();
  const countUpstream = (connection: string, delta: 1 | -1): void =>
    void upstreams.set(connection, (upstreams.get(connection) ?? 0) + delta);
  let opened = 0;
  const server: Server = createServer((socket: Socket) => {
    opened++;
    const address = socket.remoteAddress ?? '';
    const leftPreAuth = preAuthSlot(address);
    if (!leftPreAuth) {
      refusedUnauthenticated++;
      // As the server answers past max_connections: 53300 before anything is read.
      const error = new GatewayError('AG_ERR_SESSION_LIMIT', 'too many connections are still authenticating; retry shortly');
      socket.on('error', () => {});
      socket.end(
        errorResponse({
          severity: 'FATAL',
          code: sqlStateFor(error.code),
          message: `agentgate: ${error.message}`,
          detail: `code=${error.code}`,
        }),
      );
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    let session: AgentSession;
    try {
      session = new AgentSession(socket, {
        ...deps,
        admit,
        leftPreAuth,
        countUpstream,
        onCancel: (processId, secretKey) => {
          for (const candidate of sessions) {
            if (candidate.matchesCancelKey(processId, secretKey)) candidate.cancelRunning();
          }
        },
      });
    } catch (err) {
      deps.logger.error({ err: (err as Error).message }, 'could not create session');
      leftPreAuth();
      socket.destroy();
      return;
    }
    sessions.add(session);
    byId.set(session.sessionId, session);
    socket.once('close', () => {
      // The session records its own close; keep it listed until it has.
      const forget = (): void => {
        if (session.closed) {
          sessions.delete(session);
          byId.delete(session.sessionId);
        } else setTimeout(forget, 100).unref();
      };
      forget();
    });
  });
  server.on('error', (err) => deps.logger.error({ err: err.message }, 'ingress server error'));
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    async close() {
      // server.close() stops accepting and resolves once every connection has ended, so the
      // live sessions are ended first, each with 57P01 and its close recorded.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sessions].map((s) => s.terminate('AG_ERR_SHUTTING_DOWN', 'shutdown')));
      lookups.close();
      relationConnections.close();
      await closed;
    },
    kill(sessionId, message) {
      const session = byId.get(sessionId);
      if (!session || session.closed) return false;
      void session.terminate('AG_ERR_SESSION_KILLED', 'killed', message);
      return true;
    },
    sessionCount: () => sessions.size,
    metrics: () =>
      `# TYPE agentgate_pg_sessions_opened_total counter\nagentgate_pg_sessions_opened_total ${opened}\n` +
      `# TYPE agentgate_pg_sessions_active gauge\nagentgate_pg_sessions_active ${sessions.size}\n` +
      `# TYPE agentgate_pg_sessions_authenticated gauge\nagentgate_pg_sessions_authenticated ${quota.admitted}\n` +
      `# TYPE agentgate_pg_connections_unauthenticated gauge\nagentgate_pg_connections_unauthenticated ${unauthenticated}\n` +
      `# TYPE agentgate_pg_connections_refused_unauthenticated_total counter\nagentgate_pg_connections_refused_unauthenticated_total ${refusedUnauthenticated}\n` +
      `# TYPE agentgate_pg_target_connections gauge\n${[...upstreams].map(([name, n]) => `agentgate_pg_target_connections{connection=${JSON.stringify(name)}} ${n}\n`).join('')}`,
  };
}
