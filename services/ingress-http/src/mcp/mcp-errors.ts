// How the MCP gateway refuses: a JSON-RPC error whose data carries the registry code, so an
// agent (and a test) reads `error.data.code` and never parses the message. Pure.
import type { ErrorCode } from '@agentgate/errors';
import { ErrorCode as JsonRpc } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC codes of the gateway's refusals (the implementation-defined server error range). */
export const REFUSED = -32010;
export const UNAVAILABLE = -32011;

export function jsonRpcCode(code: ErrorCode): number {
  switch (code) {
    case 'AG_ERR_POLICY_DENIED':
    case 'AG_ERR_APPROVAL_PENDING':
    case 'AG_ERR_APPROVAL_DENIED':
    case 'AG_ERR_APPROVAL_EXPIRED':
    case 'AG_ERR_MCP_SERVER_UNAPPROVED':
    case 'AG_ERR_MCP_TOOL_UNAPPROVED':
    case 'AG_ERR_MCP_TOOL_CHANGED':
    case 'AG_ERR_MASKING_UNSUPPORTED':
    case 'AG_ERR_CONNECTION_FORBIDDEN':
      return REFUSED;
    case 'AG_ERR_AUDIT_UNAVAILABLE':
    case 'AG_ERR_VERDICT_TIMEOUT':
    case 'AG_ERR_VERDICT_REJECTED':
    case 'AG_ERR_UPSTREAM_UNAVAILABLE':
    case 'AG_ERR_UPSTREAM_CLOSED':
    case 'AG_ERR_SHUTTING_DOWN':
    case 'AG_ERR_SESSION_LIMIT':
    case 'AG_ERR_IDP_UNAVAILABLE':
      return UNAVAILABLE;
    case 'AG_ERR_BAD_REQUEST':
    case 'AG_ERR_PROTOCOL_VIOLATION':
    case 'AG_ERR_MESSAGE_TOO_LARGE':
      return JsonRpc.InvalidRequest;
    default:
      return JsonRpc.InternalError;
  }
}

/**
 * A refusal as the SDK's Protocol sends it: its `code`, `message` and `data` become the JSON-RPC
 * error. Not an McpError, whose message already carries an "MCP error <n>:" prefix the agent's
 * SDK would add a second time.
 */
export class GatewayMcpRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The error an agent's request is answered with: `<code>: <detail>`, the code again in data. */
export function gatewayMcpError(code: ErrorCode, detail: string, data: Record<string, unknown> = {}): GatewayMcpRefusal {
  return new GatewayMcpRefusal(jsonRpcCode(code), `${code}: ${detail}`, { ...data, code });
}

/** A JSON-RPC error response body, for answers the gateway gives before a session exists. */
export function jsonRpcErrorBody(code: ErrorCode, detail: string, id: string | number | null = null): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: jsonRpcCode(code), message: `${code}: ${detail}`, data: { code } } });
}
