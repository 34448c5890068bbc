// The edge mapping from agentgate error codes to PostgreSQL SQLSTATEs. Nothing else in the
// codebase knows about SQLSTATE.
import type { ErrorCode } from '@agentgate/errors';

const SQLSTATE: Record<ErrorCode, string> = {
  AG_ERR_CONFIG_INVALID: 'XX000',
  AG_ERR_AUDIT_UNAVAILABLE: '08006',
  AG_ERR_VERDICT_TIMEOUT: '08006',
  AG_ERR_POLICY_DENIED: '42501',
  AG_ERR_PROTOCOL_VIOLATION: '08P01',
  // PostgreSQL answers an over-long message with 08P01 (invalid message length) as well.
  AG_ERR_MESSAGE_TOO_LARGE: '08P01',
  AG_ERR_UNSUPPORTED: '0A000',
  AG_ERR_CONNECTION_UNKNOWN: '3D000',
  AG_ERR_CREDENTIAL_UNAVAILABLE: '08006',
  AG_ERR_UPSTREAM_UNAVAILABLE: '08006',
  AG_ERR_UPSTREAM_AUTH_FAILED: '08006',
  AG_ERR_RESULT_TOO_LARGE: '54000',
  AG_ERR_EVENT_INVALID: 'XX000',
  AG_ERR_HASH_CHAIN_BROKEN: 'XX000',
  AG_ERR_SHUTTING_DOWN: '57P01',
  AG_ERR_INTERNAL: 'XX000',
};

/** SQLSTATE for an agentgate error code. */
export function sqlStateFor(code: ErrorCode): string {
  return SQLSTATE[code];
}
