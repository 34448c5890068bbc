// What an agent reads when the gateway answers instead of the upstream: an RFC 9457 problem
// document carrying the registry code, and the status this edge maps the code to.
import type { ServerResponse } from 'node:http';
import { ERROR_CODES, type ErrorCode, PROBLEM_CONTENT_TYPE, problemDocument } from '@agentgate/errors';

/** This edge's mapping of registry codes to HTTP statuses. */
export function httpStatus(code: ErrorCode): number {
  if (code.startsWith('AG_ERR_TOKEN_')) return 401;
  switch (code) {
    case 'AG_ERR_UNAUTHENTICATED':
    case 'AG_ERR_AUTH_REQUIRED':
      return 401;
    case 'AG_ERR_BAD_REQUEST':
    case 'AG_ERR_PROTOCOL_VIOLATION':
      return 400;
    case 'AG_ERR_CONNECTION_UNKNOWN':
      return 404;
    case 'AG_ERR_CONNECTION_FORBIDDEN':
    case 'AG_ERR_POLICY_DENIED':
    case 'AG_ERR_APPROVAL_PENDING':
    case 'AG_ERR_APPROVAL_DENIED':
    case 'AG_ERR_APPROVAL_EXPIRED':
      return 403;
    case 'AG_ERR_MESSAGE_TOO_LARGE':
      return 413;
    case 'AG_ERR_UPSTREAM_UNAVAILABLE':
    case 'AG_ERR_UPSTREAM_CLOSED':
    case 'AG_ERR_CREDENTIAL_UNAVAILABLE':
    case 'AG_ERR_UPSTREAM_AUTH_FAILED':
      return 502;
    case 'AG_ERR_AUDIT_UNAVAILABLE':
    case 'AG_ERR_VERDICT_TIMEOUT':
    case 'AG_ERR_VERDICT_REJECTED':
    case 'AG_ERR_IDP_UNAVAILABLE':
    case 'AG_ERR_SHUTTING_DOWN':
    case 'AG_ERR_SESSION_LIMIT':
      return 503;
    default:
      return 500;
  }
}

/** `code` when it is a registry code (a verdict's errorCode comes off the wire), else `fallback`. */
export function registryCode(code: string | null, fallback: ErrorCode): ErrorCode {
  return code !== null && Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : fallback;
}

export interface Problem {
  code: ErrorCode;
  detail?: string;
  /** Overrides the mapping (405 for a method the gateway refuses). */
  status?: number;
  /** Extension members (RFC 9457 section 3.2): rule, requestId, approvalId, ... */
  extensions?: Record<string, string | number | null>;
  /** Close the connection after the answer (a request body left unread). */
  close?: boolean;
  headers?: Record<string, string>;
}

/** Sends the problem document; returns the status sent. A 401 also names the scheme it wants. */
export function sendProblem(res: ServerResponse, problem: Problem): number {
  const status = problem.status ?? httpStatus(problem.code);
  const body = Buffer.from(JSON.stringify({ ...problem.extensions, ...problemDocument(problem.code, status, problem.detail) }));
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  res.writeHead(status, {
    ...problem.headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': String(body.length),
    'cache-control': 'no-store',
    ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    ...(problem.close ? { connection: 'close' } : {}),
  });
  res.end(body);
  return status;
}
