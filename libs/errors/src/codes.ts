/**
 * The registry of stable error codes. Codes never change meaning once released;
 * tests assert codes, never messages. Protocol mapping (SQLSTATE, HTTP status,
 * SSH disconnect reason) happens at each ingress edge, not here.
 */
export const ERROR_CODES = {
  AG_ERR_CONFIG_INVALID: { retriable: false, summary: 'configuration is missing or invalid' },
  AG_ERR_AUDIT_UNAVAILABLE: { retriable: true, summary: 'the audit log (Kafka or schema registry) is unavailable' },
  AG_ERR_VERDICT_TIMEOUT: { retriable: true, summary: 'no verdict arrived in time' },
  AG_ERR_POLICY_DENIED: { retriable: false, summary: 'denied by policy' },
  AG_ERR_PROTOCOL_VIOLATION: { retriable: false, summary: 'malformed or unexpected protocol message' },
  AG_ERR_MESSAGE_TOO_LARGE: { retriable: false, summary: 'message exceeds the configured size limit' },
  AG_ERR_UNSUPPORTED: { retriable: false, summary: 'feature not supported by this gateway version' },
  AG_ERR_CONNECTION_UNKNOWN: { retriable: false, summary: 'no such connection' },
  AG_ERR_CREDENTIAL_UNAVAILABLE: { retriable: false, summary: 'the vaulted credential could not be resolved' },
  AG_ERR_UPSTREAM_UNAVAILABLE: { retriable: true, summary: 'the target could not be reached' },
  AG_ERR_UPSTREAM_AUTH_FAILED: { retriable: false, summary: 'the gateway could not log in to the target' },
  AG_ERR_RESULT_TOO_LARGE: { retriable: false, summary: 'result exceeds the gateway buffer limit' },
  AG_ERR_EVENT_INVALID: { retriable: false, summary: 'an audit event failed validation' },
  AG_ERR_HASH_CHAIN_BROKEN: { retriable: false, summary: 'the per-session hash chain does not verify' },
  AG_ERR_SHUTTING_DOWN: { retriable: true, summary: 'the gateway is shutting down' },
  AG_ERR_INTERNAL: { retriable: false, summary: 'internal gateway error' },
} as const satisfies Record<string, { retriable: boolean; summary: string }>;

/** A stable error code, `AG_ERR_*`. */
export type ErrorCode = keyof typeof ERROR_CODES;
