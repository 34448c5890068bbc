// What every REST service of the gateway does at its HTTP edge, in one place: registry codes
// become RFC 9457 problem documents, fastify's own refusals are the client's, and every request
// authenticates with a bearer token before any route runs. Each service keeps its own status
// mapping (protocol mapping stays with the edge that speaks the protocol).
import { PROBLEM_CONTENT_TYPE, isGatewayError, problemDocument, toGatewayError, type ErrorCode } from '@agentgate/errors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Sends the problem document of `code` (status from the service's mapping unless given). */
export type SendProblem = (reply: FastifyReply, code: ErrorCode, detail?: string, status?: number) => FastifyReply;

/** A problem sender for a service's status mapping; a 401 also says which scheme it wants. */
export function problemSender(statusOf: (code: ErrorCode) => number): SendProblem {
  return (reply, code, detail, status) => {
    const body = problemDocument(code, status ?? statusOf(code), detail);
    if (body.status === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
  };
}

/**
 * Errors as problem documents: a GatewayError with its code, fastify's own 4xx refusals (schema
 * validation, malformed JSON, too large) as AG_ERR_BAD_REQUEST, anything else as an internal
 * error whose message stays out of the answer (`onInternal` logs its code).
 */
export function installProblemHandlers(app: FastifyInstance, send: SendProblem, onInternal: (code: ErrorCode) => void): void {
  app.setErrorHandler((err, _request, reply) => {
    if (isGatewayError(err)) return send(reply, err.code, err.message);
    const { statusCode, message } = err as { statusCode?: number; message?: string };
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return send(reply, 'AG_ERR_BAD_REQUEST', message, statusCode);
    onInternal(toGatewayError(err).code);
    return send(reply, 'AG_ERR_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).type(PROBLEM_CONTENT_TYPE).send({ type: 'about:blank', title: 'Not Found', status: 404 }),
  );
}

const BEARER = /^Bearer +([^\s]+) *$/i;

export interface BearerAuthentication<Caller> {
  /** Verifies a token; throws a GatewayError (AG_ERR_TOKEN_*, AG_ERR_IDP_UNAVAILABLE) on rejection. */
  verifyToken(token: string): Promise<Caller>;
  send: SendProblem;
  /** Admits the verified caller (keep it on the request) or answers for it (a 403, a 503). */
  admit(caller: Caller, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined;
}

/**
 * Every request authenticates, whatever its URL: the router decodes percent-escapes
 * (/%76%31/x is /v1/x), so a hook that looked at the raw URL to choose would let some through.
 */
export function requireBearer<Caller>(app: FastifyInstance, auth: BearerAuthentication<Caller>): void {
  app.addHook('onRequest', async (request, reply) => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match?.[1]) return auth.send(reply, 'AG_ERR_UNAUTHENTICATED', 'an Authorization: Bearer token is required');
    let caller: Caller;
    try {
      caller = await auth.verifyToken(match[1]);
    } catch (err) {
      const e = toGatewayError(err);
      return auth.send(reply, e.code, e.message);
    }
    return auth.admit(caller, request, reply);
  });
}
