// Errors at the HTTP edge: a registry code becomes an RFC 9457 problem document and a status
// (the approval service's pattern).
import { PROBLEM_CONTENT_TYPE, problemDocument, type ErrorCode, type ProblemDocument } from '@agentgate/errors';

export { PROBLEM_CONTENT_TYPE };

/** The code of a 403 for a caller outside the auditors' group. */
export const NOT_AN_AUDITOR: ErrorCode = 'AG_ERR_FORBIDDEN';

export type Problem = ProblemDocument;

/** The HTTP status of a code. */
export function httpStatus(code: ErrorCode): number {
  if (code.startsWith('AG_ERR_TOKEN_')) return 401;
  switch (code) {
    case 'AG_ERR_UNAUTHENTICATED':
      return 401;
    case 'AG_ERR_BAD_REQUEST':
      return 400;
    case NOT_AN_AUDITOR:
      return 403;
    case 'AG_ERR_AUDIT_UNAVAILABLE':
    case 'AG_ERR_IDP_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

export function problem(code: ErrorCode, detail?: string, status = httpStatus(code)): Problem {
  return problemDocument(code, status, detail);
}
