// The body of POST /v1/approvals/:id/approve and /deny: nothing, or `{ "comment": string }`.
import { GatewayError } from '@agentgate/errors';

export const MAX_COMMENT_CHARS = 1000;

/** The comment, or null; throws AG_ERR_BAD_REQUEST for anything else. */
export function parseDecisionBody(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  if (typeof body !== 'object' || Array.isArray(body)) throw new GatewayError('AG_ERR_BAD_REQUEST', 'the body must be a JSON object');
  const extra = Object.keys(body).filter((k) => k !== 'comment');
  if (extra.length > 0) throw new GatewayError('AG_ERR_BAD_REQUEST', `unknown field(s): ${extra.join(', ')}`);
  const { comment } = body as { comment?: unknown };
  if (comment === undefined || comment === null) return null;
  if (typeof comment !== 'string') throw new GatewayError('AG_ERR_BAD_REQUEST', 'comment must be a string');
  // Counted in characters (code points), as a person writing it would count.
  if ([...comment].length > MAX_COMMENT_CHARS)
    throw new GatewayError('AG_ERR_BAD_REQUEST', `comment is longer than ${MAX_COMMENT_CHARS} characters`);
  return comment === '' ? null : comment;
}
