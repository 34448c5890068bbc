// The approvals REST API (fastify): list, show, approve, deny. Built here with everything it
// touches injected (state, token verifier, log writer, clock), run by main.ts, tested with inject().
// Every /v1 route needs a bearer token; a caller sees only approvals it may read (access.ts) and
// decides only under the decider's rules (decide.ts). Errors are RFC 9457 problem documents
// carrying the registry code.
import { randomUUID } from 'node:crypto';
import type { Actor } from '@agentgate/events';
import { installProblemHandlers, problemSender, requireBearer } from '@agentgate/http-edge';
import type { Logger } from '@agentgate/observability';
import { fastify, type FastifyInstance } from 'fastify';
import { mayRead } from './access.js';
import { requestedApproval, requestedApprovals } from './approval-state.js';
import type { ApprovalStore } from './approval-store.js';
import type { CommandRunner } from './commands.js';
import { httpStatus } from './problem.js';
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

const sendProblem = problemSender(httpStatus);

export async function buildApprovalApp(deps: ApprovalAppDeps): Promise<FastifyInstance> {
  const newEventId = deps.newEventId ?? randomUUID;
  // Requests are not logged by fastify: the decisions are, below, without bodies or headers.
  const app = fastify({ logger: false, bodyLimit: 16 * 1024 });
  app.decorateRequest('caller', null);

  installProblemHandlers(app, sendProblem, (code) => deps.logger?.error({ code }, 'approval API request failed'));
  requireBearer(app, {
    verifyToken: deps.verifyToken,
    send: sendProblem,
    admit(caller, request, reply) {
      request.caller = caller;
      return deps.ready() ? undefined : sendProblem(reply, 'AG_ERR_AUDIT_UNAVAILABLE', 'the approval service is still reading the log');
    },
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
