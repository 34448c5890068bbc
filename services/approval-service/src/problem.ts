// The approval service's HTTP status of each registry code (the problem document itself is
// built by @agentgate/http-edge). The code is the stable part; title and detail are for people.
import type { ErrorCode } from '@agentgate/errors';

/** The HTTP status of a code. */
export function httpStatus(code: ErrorCode): number {
  if (code.startsWith('AG_ERR_TOKEN_')) return 401;
  switch (code) {
    case 'AG_ERR_UNAUTHENTICATED':
      return 401;
    case 'AG_ERR_BAD_REQUEST':
      return 400;
    case 'AG_ERR_APPROVAL_NOT_FOUND':
      return 404;
    case 'AG_ERR_APPROVAL_FORBIDDEN':
    case 'AG_ERR_APPROVAL_SELF':
      return 403;
    case 'AG_ERR_APPROVAL_CLOSED':
    case 'AG_ERR_APPROVAL_DUPLICATE':
    case 'AG_ERR_APPROVAL_EXPIRED':
      return 409;
    case 'AG_ERR_AUDIT_UNAVAILABLE':
    case 'AG_ERR_IDP_UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}
