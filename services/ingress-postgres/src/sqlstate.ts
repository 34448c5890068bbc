// The edge mapping from agentgate error codes to PostgreSQL SQLSTATEs. Nothing else in the
// codebase knows about SQLSTATE.
import type { ErrorCode } from '@agentgate/errors';

const SQLSTATE: Record<ErrorCode, string> = {
  AG_ERR_CONFIG_INVALID: 'XX000',
  AG_ERR_AUDIT_UNAVAILABLE: '08006',
  AG_ERR_VERDICT_TIMEOUT: '08006',
  AG_ERR_VERDICT_REJECTED: '08006',
  AG_ERR_POLICY_DENIED: '42501',
  AG_ERR_MCP_SERVER_UNAPPROVED: '42501',
  AG_ERR_MCP_TOOL_UNAPPROVED: '42501',
  AG_ERR_MCP_TOOL_CHANGED: '42501',
  AG_ERR_PROTOCOL_VIOLATION: '08P01',
  // program_limit_exceeded: the message is well formed but over a configured limit.
  AG_ERR_MESSAGE_TOO_LARGE: '54000',
  AG_ERR_UNSUPPORTED: '0A000',
  AG_ERR_CONNECTION_UNKNOWN: '3D000',
  AG_ERR_CREDENTIAL_UNAVAILABLE: '08006',
  AG_ERR_UPSTREAM_UNAVAILABLE: '08006',
  AG_ERR_UPSTREAM_AUTH_FAILED: '08006',
  AG_ERR_EVENT_INVALID: 'XX000',
  AG_ERR_HASH_CHAIN_BROKEN: 'XX000',
  AG_ERR_SHUTTING_DOWN: '57P01',
  AG_ERR_INTERNAL: 'XX000',
  // 28000 invalid_authorization_specification, 28P01 invalid_password (the token is the password).
  AG_ERR_AUTH_REQUIRED: '28000',
  AG_ERR_TLS_REQUIRED: '28000',
  AG_ERR_TOKEN_TOO_LARGE: '28P01',
  AG_ERR_TOKEN_MALFORMED: '28P01',
  AG_ERR_TOKEN_ALG_NOT_ALLOWED: '28P01',
  AG_ERR_TOKEN_TYPE_NOT_ALLOWED: '28P01',
  AG_ERR_TOKEN_SIGNATURE_INVALID: '28P01',
  AG_ERR_TOKEN_KEY_UNKNOWN: '28P01',
  AG_ERR_TOKEN_KEY_REVOKED: '28P01',
  AG_ERR_TOKEN_EXPIRED: '28P01',
  AG_ERR_TOKEN_NOT_YET_VALID: '28P01',
  AG_ERR_TOKEN_ISSUER_UNTRUSTED: '28P01',
  AG_ERR_TOKEN_AUDIENCE_MISMATCH: '28P01',
  AG_ERR_TOKEN_CLAIM_MISSING: '28P01',
  AG_ERR_IDP_UNAVAILABLE: '08006',
  AG_ERR_CONNECTION_FORBIDDEN: '28000',
  // What pg_terminate_backend() reports.
  AG_ERR_SESSION_KILLED: '57P01',
  // too_many_connections and idle_session_timeout, as PostgreSQL reports them.
  AG_ERR_SESSION_LIMIT: '53300',
  AG_ERR_IDLE_TIMEOUT: '57P05',
  AG_ERR_STARTUP_PARAMETER_REFUSED: '0A000',
  AG_ERR_LEXING_UNSUPPORTED: '0A000',
  // invalid_sql_statement_name and invalid_cursor_name, as the server reports unknown names.
  AG_ERR_STATEMENT_UNKNOWN: '26000',
  AG_ERR_PORTAL_UNKNOWN: '34000',
  // program_limit_exceeded, as PostgreSQL reports a statement too complex or too long.
  AG_ERR_STATEMENT_TOO_LARGE: '54000',
  // connection_failure: what libpq reports when the server goes away mid-session.
  AG_ERR_UPSTREAM_CLOSED: '08006',
  // undefined_function: what the server says for a FunctionCall of an OID it does not know.
  AG_ERR_FUNCTION_UNKNOWN: '42883',
  // system_error: something outside the server (the gateway's catalog lookup) failed; the session goes on.
  AG_ERR_FUNCTION_LOOKUP_FAILED: '58000',
  // feature_not_supported: the result asked for is refused as a whole, nothing of it sent raw.
  AG_ERR_MASKING_UNSUPPORTED: '0A000',
  // lock_not_available: the statement did not run and may be run again (once approved), as
  // after a lock timeout; the approval id is in the message and detail.
  AG_ERR_APPROVAL_PENDING: '55P03',
  // insufficient_privilege, as for any denial.
  AG_ERR_APPROVAL_DENIED: '42501',
  AG_ERR_APPROVAL_EXPIRED: '42501',
  // Codes of the approval service's API; an ingress does not raise them.
  AG_ERR_APPROVAL_NOT_FOUND: '42704',
  AG_ERR_APPROVAL_CLOSED: '55000',
  AG_ERR_APPROVAL_FORBIDDEN: '42501',
  AG_ERR_APPROVAL_SELF: '42501',
  AG_ERR_APPROVAL_DUPLICATE: '55000',
  AG_ERR_UNAUTHENTICATED: '28000',
  AG_ERR_BAD_REQUEST: '08P01',
  AG_ERR_FORBIDDEN: '42501',
  AG_ERR_EXPORT_INVALID: '22023',
  // SSH codes never reach a PostgreSQL client; mapped for completeness (28000: the login is refused).
  AG_ERR_SSH_KEY_INVALID: '28000',
  AG_ERR_SSH_KEY_UNSUPPORTED: '28000',
  AG_ERR_SSH_CERT_MALFORMED: '28000',
  AG_ERR_SSH_CERT_CA_UNTRUSTED: '28000',
  AG_ERR_SSH_CERT_SIGNATURE_INVALID: '28000',
  AG_ERR_SSH_CERT_TYPE_NOT_ALLOWED: '28000',
  AG_ERR_SSH_CERT_EXPIRED: '28000',
  AG_ERR_SSH_CERT_NOT_YET_VALID: '28000',
  AG_ERR_SSH_CERT_PRINCIPAL_MISMATCH: '28000',
  AG_ERR_SSH_CERT_OPTION_UNSUPPORTED: '28000',
};

/** SQLSTATE for an agentgate error code. */
export function sqlStateFor(code: ErrorCode): string {
  return SQLSTATE[code];
}

const HINTS: Partial<Record<ErrorCode, string>> = {
  AG_ERR_AUDIT_UNAVAILABLE: 'The gateway refused to run the statement unaudited; retry when the audit log is back.',
  AG_ERR_VERDICT_TIMEOUT: 'The gateway refused to run the statement without a verdict; retry when the policy processor is back.',
  AG_ERR_UPSTREAM_CLOSED: 'The target ended the connection; reconnect.',
  AG_ERR_SESSION_LIMIT: 'Close idle sessions or retry later.',
  AG_ERR_TOKEN_EXPIRED: 'Reconnect with a fresh access token (npx agentgate token <identity>).',
  AG_ERR_FUNCTION_LOOKUP_FAILED: 'The gateway could not tell which function the call names, so it did not run it; retry.',
};

/** What an agent can do about an error, when there is something to say. */
export function hintFor(code: ErrorCode): string | undefined {
  return HINTS[code];
}
