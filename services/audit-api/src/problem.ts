// Errors at the HTTP edge: a registry code becomes an RFC 9457 problem document and a status
// (the approval service's pattern).
import { ERROR_CODES, type ErrorCode } from '@agentgate/errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The code of a 403 for a caller outside the auditors' group. */
export const NOT_AN_AUDITOR: ErrorCode = 'AG_ERR_FORBIDDEN';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

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
  const { summary } = ERROR_CODES[code];
  return { type: `https://agentgate.dev/errors/${code}`, title: summary, status, detail: detail ?? summary, code };
}
