// MCP pins: an administrator's approval of a server's tools, by fingerprint (libs/mcp
// toolFingerprint; here only compared as strings). A tools/call is checked against them before
// any rule: a server nobody approved, a tool nobody approved, or a tool whose name, description or
// input schema changed since (a "rug pull") is refused whatever the rules say.
import type { CompiledPolicy, McpInput } from './types.js';

/** Why a tools/call is refused by the pins, or null when its tool is pinned and unchanged. */
export interface PinRefusal {
  errorCode: 'AG_ERR_MCP_SERVER_UNAPPROVED' | 'AG_ERR_MCP_TOOL_UNAPPROVED' | 'AG_ERR_MCP_TOOL_CHANGED';
  reason: string;
}

/** Checks a tools/call on `connection` against the policy's pins (other methods are not pinned: null). */
export function pinRefusal(policy: CompiledPolicy, connection: string | null, mcp: McpInput): PinRefusal | null {
  if (mcp.method !== 'tools/call') return null;
  const server = connection ?? '(no connection)';
  const tool = mcp.name ?? '(no name)';
  const pins = connection === null ? undefined : policy.mcpPins.get(connection);
  if (!pins)
    return {
      errorCode: 'AG_ERR_MCP_SERVER_UNAPPROVED',
      reason: `no administrator has approved the tools of mcp server ${server} (no mcpPins entry); tool ${tool} is refused until they are pinned`,
    };
  const approved = mcp.name === null ? undefined : pins.get(mcp.name);
  if (approved === undefined)
    return {
      errorCode: 'AG_ERR_MCP_TOOL_UNAPPROVED',
      reason: `tool ${tool} on ${server} is not among its approved (pinned) tools; refused until an administrator approves it`,
    };
  if (mcp.toolFingerprint !== approved)
    return {
      errorCode: 'AG_ERR_MCP_TOOL_CHANGED',
      reason: `tool ${tool} on ${server} changed since it was approved (approved ${approved}, now ${mcp.toolFingerprint ?? 'not listed by the server'}); refused until re-approved`,
    };
  return null;
}
