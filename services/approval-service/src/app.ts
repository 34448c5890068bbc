// The approvals REST API (fastify): list, show, approve, deny. Built here with everything it
// touches injected (state, token verifier, log writer, clock), run by main.ts, tested with inject().
// Every /v1 route needs a bearer token; a caller sees only approvals it may read (access.ts) and
// decides only under the decider's rules (decide.ts). Errors are RFC 9457 problem documents
// carrying the registry code.
import { randomUUID } from 'node:crypto';
import type { Actor } from '@agentgate/events';
import { isGatewayError, toGatewayError, type ErrorCode } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import { fastify, type FastifyInstance, type FastifyReply } from 'fastify';
import { mayRead } from './access.js';
import { requestedApproval, requestedApprovals } from './approval-state.js';
import type { ApprovalStore } from './approval-store.js';
import type { CommandRunner } from './commands.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js';
import { parseDecisionBody } from './request-body.js';
import { approvalSummary, approvalView } from './view.js';

export interface ApprovalAppDeps {
  store: ApprovalStore;
  runner: CommandRunner;
  /** Verifies a bearer token; throws a GatewayError (AG_ERR_TOKEN_*, AG_ERR_IDP_UNAVAILABLE) on rejection. */
  verifyToken(token: string): Promise<Actor>;
  /** Microseconds since the epoch. */
  nowUs(): number;
  /** Ids of the ApprovalDecided events written. */
  newEventId?: () => string;
  /** False until the state has caught up with the log: before that, answers would be stale. */
  ready(): boolean;
  /** Base URL approvers reach this API at (links in views). */
  publicUrl: string;
  logger?: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Actor | null;
  }
}

const BEARER = /^Bearer +([^\s]+) *$/i;

function sendProblem(reply: FastifyReply, code: ErrorCode, detail?: string, status?: number): FastifyReply {
  const body = problem(code, detail, status);
  if (body.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

export async function buildApprovalApp(deps: ApprovalAppDeps): Promise<FastifyInstance> {
  const newEventId = deps.newEventId ?? randomUUID;
  // Requests are not logged by fastify: the decisions are, below, without bodies or headers.
  const app = fastify({ logger: false, bodyLimit: 16 * 1024 });
  app.decorateRequest('caller', null);

  app.setErrorHandler((err, _request, reply) => {
    if (isGatewayError(err)) return sendProblem(reply, err.code, err.message);
    const { statusCode, message } = err as { statusCode?: number; message?: string };
    // fastify's own refusals (malformed JSON, wrong content type, too large) are the client's.
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500)
      return sendProblem(reply, 'AG_ERR_BAD_REQUEST', message, statusCode);
    deps.logger?.error({ code: toGatewayError(err).code }, 'approval API request failed');
    return sendProblem(reply, 'AG_ERR_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).type(PROBLEM_CONTENT_TYPE).send({ type: 'about:blank', title: 'Not Found', status: 404 }),
  );

  // Every request authenticates, whatever its URL: the router decodes percent-escapes
  // (/%76%31/approvals is /v1/approvals), so a check on the raw URL would let one through.
  app.addHook('onRequest', async (request, reply) => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match) return sendProblem(reply, 'AG_ERR_UNAUTHENTICATED', 'an Authorization: Bearer token is required');
    try {
      request.caller = await deps.verifyToken(match[1]!);
    } catch (err) {
      const e = toGatewayError(err);
      return sendProblem(reply, e.code, e.message);
    }
    if (!deps.ready()) return sendProblem(reply, 'AG_ERR_AUDIT_UNAVAILABLE', 'the approval service is still reading the log');
    return undefined;
  });

  app.get<{ Querystring: { status?: string } }>('/v1/approvals', async (request, reply) => {
    const status = request.query.status ?? 'pending';
    if (status !== 'pending' && status !== 'all') return sendProblem(reply, 'AG_ERR_BAD_REQUEST', 'status must be pending or all');
    const caller = request.caller!;
    const approvals = requestedApprovals(deps.store.state)
      .filter((a) => (status === 'all' || a.status === 'pending') && mayRead(caller, a))
      .sort((a, b) => a.requestedAtUs - b.requestedAtUs || a.approvalId.localeCompare(b.approvalId));
    return { approvals: approvals.map((a) => approvalSummary(a, deps.publicUrl)) };
  });

  app.get<{ Params: { id: string } }>('/v1/approvals/:id', async (request, reply) => {
    const approval = requestedApproval(deps.store.state, request.params.id);
    if (approval === undefined) return sendProblem(reply, 'AG_ERR_APPROVAL_NOT_FOUND');
    if (!mayRead(request.caller!, approval)) return sendProblem(reply, 'AG_ERR_APPROVAL_FORBIDDEN', 'you may not read this approval');
    return approvalView(approval, deps.nowUs(), deps.publicUrl);
  });

  for (const kind of ['approve', 'deny'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/approvals/:id/${kind}`, async (request, reply) => {
      const comment = parseDecisionBody(request.body);
      const approvalId = request.params.id;
      const approver = request.caller!;
      const outcome = await deps.runner.decide({ kind, approvalId, approver, comment, nowUs: deps.nowUs(), eventId: newEventId() });
      deps.logger?.info(
        {
          approvalId,
          decision: kind,
          approver: approver.subject,
          ...(outcome.ok ? {} : { code: outcome.code }),
          written: outcome.events.length,
        },
        outcome.ok ? 'approval decision written' : 'approval decision refused',
      );
      if (!outcome.ok) return sendProblem(reply, outcome.code);
      return approvalView(requestedApproval(deps.store.state, approvalId)!, deps.nowUs(), deps.publicUrl);
    });
  }

  return app;
}
