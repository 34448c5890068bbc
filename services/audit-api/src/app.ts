// The auditors' API (fastify): request search, session replay and verification over
// agentgate.events, and legal holds and retention (governance-routes.ts). Built
// here with everything it touches injected (token verifier, query function), run by main.ts,
// tested with inject(). Every /v1 route needs a bearer token of a member of the auditors' group;
// errors are RFC 9457 problem documents carrying the registry code.
import { buildTranscript, replayQuery, transcriptText, type ReplayRow } from '@agentgate/audit-report';
import { verifyStored, type TrustedKey } from '@agentgate/audit-verify';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import type { Actor } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import { installProblemHandlers, problemSender, requireBearer } from '@agentgate/http-edge';
import type { Logger } from '@agentgate/observability';
import { fastify, type FastifyInstance } from 'fastify';
import { registerGovernanceRoutes, type GovernanceDeps } from './governance-routes.js';
import { NOT_AN_AUDITOR, PROBLEM_CONTENT_TYPE, httpStatus } from './problem.js';
import {
  approvalIdsOf,
  approvalsQuery,
  searchQuery,
  searchResults,
  type ApprovalRow,
  type SearchFilters,
  type SearchRow,
} from './search-query.js';

export interface AuditAppDeps {
  /** Verifies a bearer token; throws a GatewayError (AG_ERR_TOKEN_*, AG_ERR_IDP_UNAVAILABLE) on rejection. */
  verifyToken(token: string): Promise<Actor>;
  /** Runs one read query; rows as JSON objects. Throws AG_ERR_AUDIT_UNAVAILABLE when ClickHouse fails. */
  query<T>(sql: string): Promise<T[]>;
  database: string;
  /** The trusted checkpoint keys, read when a verification runs (the checkpointer publishes them). */
  trustedKeys(): Promise<TrustedKey[]>;
  /** Callers must be members of this group. */
  auditorGroup: string;
  /** Legal holds and retention (/v1/holds, /v1/retention); without it those routes do not exist. */
  governance?: GovernanceDeps;
  logger?: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditor: Actor | null;
  }
}

/** Longest value of a free-text filter: enough for any statement fragment, bounded for the query size. */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_LIMIT = 1000;
export const MAX_OFFSET = 1_000_000;

const sendProblem = problemSender(httpStatus);

const text = { type: 'string', minLength: 1, maxLength: MAX_FILTER_LENGTH } as const;

const SEARCH_SCHEMA = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      identity: text,
      connection: text,
      from: { type: 'string', format: 'date-time' },
      until: { type: 'string', format: 'date-time' },
      decision: { type: 'string', pattern: '^[a-z_]{1,64}$' },
      kind: { type: 'string', pattern: '^[A-Za-z_]{1,128}$' },
      text,
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
      offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
    },
  },
} as const;

const VERIFY_SCHEMA = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    required: ['since'],
    properties: { since: { type: 'string', format: 'date-time' }, until: { type: 'string', format: 'date-time' } },
  },
} as const;

const REPLAY_SCHEMA = {
  params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['id'] },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { format: { type: 'string', enum: ['json', 'text'], default: 'json' } },
  },
} as const;

interface SearchQuery {
  identity?: string;
  connection?: string;
  from?: string;
  until?: string;
  decision?: string;
  kind?: string;
  text?: string;
  limit: number;
  offset: number;
}

function microseconds(name: string, iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0) throw new GatewayError('AG_ERR_BAD_REQUEST', `${name} must be an ISO 8601 time after 1970`);
  return ms * 1000;
}

/** The validated query string as search filters; throws AG_ERR_BAD_REQUEST. */
export function searchFilters(q: SearchQuery): SearchFilters {
  const fromUs = q.from === undefined ? undefined : microseconds('from', q.from);
  const untilUs = q.until === undefined ? undefined : microseconds('until', q.until);
  if (fromUs !== undefined && untilUs !== undefined && fromUs >= untilUs)
    throw new GatewayError('AG_ERR_BAD_REQUEST', 'from must be before until');
  const f: SearchFilters = { limit: q.limit, offset: q.offset };
  if (q.identity !== undefined) f.identity = q.identity;
  if (q.connection !== undefined) f.connection = q.connection;
  if (fromUs !== undefined) f.fromUs = fromUs;
  if (untilUs !== undefined) f.untilUs = untilUs;
  if (q.decision !== undefined) f.decision = q.decision;
  if (q.kind !== undefined) f.kind = q.kind;
  if (q.text !== undefined) f.text = q.text;
  return f;
}

export async function buildAuditApp(deps: AuditAppDeps): Promise<FastifyInstance> {
  // Requests are not logged by fastify (URLs carry search text); the handlers log what matters.
  const app = fastify({
    logger: false,
    // Unknown parameters are refused, not dropped: a misspelt filter must not widen a search.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  app.decorateRequest('auditor', null);

  installProblemHandlers(app, sendProblem, (code) => deps.logger?.error({ code }, 'audit API request failed'));
  requireBearer(app, {
    verifyToken: deps.verifyToken,
    send: sendProblem,
    admit(caller, request, reply) {
      if (!caller.groups.includes(deps.auditorGroup))
        return sendProblem(reply, NOT_AN_AUDITOR, `members of the group ${deps.auditorGroup} only`, 403);
      request.auditor = caller;
      return undefined;
    },
  });

  app.get<{ Querystring: SearchQuery }>('/v1/requests', { schema: SEARCH_SCHEMA }, async (request) => {
    const filters = searchFilters(request.query);
    const rows = await deps.query<SearchRow>(searchQuery(deps.database, filters));
    const ids = approvalIdsOf(rows);
    const approvals = ids.length === 0 ? [] : await deps.query<ApprovalRow>(approvalsQuery(deps.database, ids));
    // Which filters were used, never their values: those may hold statement text.
    const used = Object.keys(request.query).filter((k) => k !== 'limit' && k !== 'offset');
    deps.logger?.info({ auditor: request.auditor?.subject, filters: used, results: rows.length }, 'requests searched');
    return { requests: searchResults(rows, approvals), limit: filters.limit, offset: filters.offset };
  });

  app.get<{ Params: { id: string }; Querystring: { format: 'json' | 'text' } }>(
    '/v1/sessions/:id/replay',
    { schema: REPLAY_SCHEMA },
    async (request, reply) => {
      const sessionId = request.params.id;
      const rows = await deps.query<ReplayRow>(replayQuery({ database: quoteIdentifier(deps.database), session: quoteString(sessionId) }));
      deps.logger?.info({ auditor: request.auditor?.subject, sessionId, events: rows.length }, 'session replayed');
      if (!rows.some((r) => r.session_id === sessionId)) {
        return reply
          .code(404)
          .type(PROBLEM_CONTENT_TYPE)
          .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'no events of this session are stored' });
      }
      const transcript = buildTranscript(sessionId, rows);
      if (request.query.format === 'text') return reply.type('text/plain; charset=utf-8').send(transcriptText(transcript));
      return transcript;
    },
  );

  // The same verification as `agentgate verify --since`: chains, projected columns, signed checkpoints.
  app.get<{ Querystring: { since: string; until?: string } }>('/v1/verify', { schema: VERIFY_SCHEMA }, async (request) => {
    const sinceUs = microseconds('since', request.query.since);
    const untilUs = request.query.until === undefined ? null : microseconds('until', request.query.until);
    if (untilUs !== null && sinceUs >= untilUs) throw new GatewayError('AG_ERR_BAD_REQUEST', 'since must be before until');
    const trustedKeys = await deps.trustedKeys();
    const report = await verifyStored(deps.query, deps.database, { sinceUs, untilUs }, trustedKeys);
    // uncovered and pruned (retention) are information, not failures.
    const failures = report.findings.filter((f) => f.kind !== 'uncovered' && f.kind !== 'pruned').length;
    deps.logger?.info({ auditor: request.auditor?.subject, events: report.eventsChecked, failures }, 'audit log verified');
    return report;
  });

  if (deps.governance !== undefined)
    registerGovernanceRoutes(app, { query: deps.query, database: deps.database, governance: deps.governance, logger: deps.logger });

  return app;
}
