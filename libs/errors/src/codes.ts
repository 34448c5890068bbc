/**
 * The registry of stable error codes. Codes never change meaning once released;
 * tests assert codes, never messages. Protocol mapping (SQLSTATE, HTTP status,
 * SSH disconnect reason) happens at each ingress edge, not here.
 */
export const ERROR_CODES = {
  AG_ERR_CONFIG_INVALID: { retriable: false, summary: 'configuration is missing or invalid' },
  AG_ERR_AUDIT_UNAVAILABLE: { retriable: true, summary: 'the audit log (Kafka or schema registry) is unavailable' },
  AG_ERR_VERDICT_TIMEOUT: { retriable: true, summary: 'no verdict arrived in time' },
  AG_ERR_VERDICT_REJECTED: {
    retriable: false,
    summary: 'a verdict did not authentically answer its request (hash, session, request, chain or producer)',
  },
  AG_ERR_POLICY_DENIED: { retriable: false, summary: 'denied by policy' },
  AG_ERR_PROTOCOL_VIOLATION: { retriable: false, summary: 'malformed or unexpected protocol message' },
  AG_ERR_MESSAGE_TOO_LARGE: { retriable: false, summary: 'message exceeds the configured size limit' },
  AG_ERR_UNSUPPORTED: { retriable: false, summary: 'feature not supported by this gateway version' },
  AG_ERR_CONNECTION_UNKNOWN: { retriable: false, summary: 'no such connection' },
  AG_ERR_CREDENTIAL_UNAVAILABLE: { retriable: false, summary: 'the vaulted credential could not be resolved' },
  AG_ERR_UPSTREAM_UNAVAILABLE: { retriable: true, summary: 'the target could not be reached' },
  AG_ERR_UPSTREAM_AUTH_FAILED: { retriable: false, summary: 'the gateway could not log in to the target' },
  AG_ERR_EVENT_INVALID: { retriable: false, summary: 'an audit event failed validation' },
  AG_ERR_HASH_CHAIN_BROKEN: { retriable: false, summary: 'the per-session hash chain does not verify' },
  AG_ERR_SHUTTING_DOWN: { retriable: true, summary: 'the gateway is shutting down' },
  AG_ERR_INTERNAL: { retriable: false, summary: 'internal gateway error' },
  AG_ERR_AUTH_REQUIRED: { retriable: false, summary: 'an access token is required' },
  AG_ERR_TLS_REQUIRED: { retriable: false, summary: 'a password (token) is only accepted inside TLS' },
  AG_ERR_TOKEN_TOO_LARGE: { retriable: false, summary: 'the token exceeds the size limit' },
  AG_ERR_TOKEN_MALFORMED: { retriable: false, summary: 'the token is not a well-formed JWT' },
  AG_ERR_TOKEN_ALG_NOT_ALLOWED: { retriable: false, summary: 'the token algorithm is not allowed' },
  AG_ERR_TOKEN_TYPE_NOT_ALLOWED: { retriable: false, summary: 'the token typ is not accepted' },
  AG_ERR_TOKEN_SIGNATURE_INVALID: { retriable: false, summary: 'the token signature does not verify' },
  AG_ERR_TOKEN_KEY_UNKNOWN: { retriable: false, summary: 'no key of the issuer matches the token' },
  AG_ERR_TOKEN_KEY_REVOKED: { retriable: false, summary: 'the token was signed with a key the issuer has removed' },
  AG_ERR_TOKEN_EXPIRED: { retriable: false, summary: 'the token has expired; reconnect with a fresh token' },
  AG_ERR_TOKEN_NOT_YET_VALID: { retriable: false, summary: 'the token is not valid yet (nbf)' },
  AG_ERR_TOKEN_ISSUER_UNTRUSTED: { retriable: false, summary: 'the token issuer is not trusted' },
  AG_ERR_TOKEN_AUDIENCE_MISMATCH: { retriable: false, summary: 'the token is not meant for this gateway (aud)' },
  AG_ERR_TOKEN_CLAIM_MISSING: { retriable: false, summary: 'a required token claim is missing or invalid' },
  AG_ERR_IDP_UNAVAILABLE: { retriable: true, summary: 'the identity provider cannot be reached and no cached keys apply' },
  AG_ERR_CONNECTION_FORBIDDEN: { retriable: false, summary: "the agent's groups may not use this connection" },
  AG_ERR_SESSION_KILLED: { retriable: false, summary: 'the session was ended by an administrator' },
  AG_ERR_SESSION_LIMIT: { retriable: true, summary: 'too many sessions (in total or for this identity)' },
  AG_ERR_IDLE_TIMEOUT: { retriable: false, summary: 'the session was idle too long' },
  AG_ERR_STARTUP_PARAMETER_REFUSED: { retriable: false, summary: 'a startup parameter the gateway cannot pass on faithfully' },
  AG_ERR_STATEMENT_TOO_LARGE: { retriable: false, summary: 'the statement is longer than the gateway parses' },
  AG_ERR_STATEMENT_UNKNOWN: { retriable: false, summary: 'a prepared statement the gateway did not see the target confirm' },
  AG_ERR_PORTAL_UNKNOWN: { retriable: false, summary: 'a portal the gateway did not see the target confirm' },
  AG_ERR_LEXING_UNSUPPORTED: { retriable: false, summary: 'the target lexes SQL under settings the gateway cannot follow' },
  AG_ERR_UPSTREAM_CLOSED: { retriable: false, summary: 'the target closed the connection without an error message' },
  AG_ERR_FUNCTION_UNKNOWN: { retriable: false, summary: 'a fast-path function call names an OID the target does not resolve' },
  AG_ERR_FUNCTION_LOOKUP_FAILED: {
    retriable: true,
    summary: 'the function a fast-path call names could not be looked up on the target in time',
  },
  AG_ERR_MASKING_UNSUPPORTED: {
    retriable: false,
    summary: 'a result column policy masks cannot be masked as asked (binary format of its type, or a table the gateway cannot name)',
  },
} as const satisfies Record<string, { retriable: boolean; summary: string }>;

/** A stable error code, `AG_ERR_*`. */
export type ErrorCode = keyof typeof ERROR_CODES;
