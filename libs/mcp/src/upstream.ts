// Reaching an MCP server as a client with the official SDK: a process started over stdio (one
// per session, so sessions share no server state) or a Streamable HTTP endpoint. The adapter
// the gateway and the CLI share; the caller resolves credential references.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { McpConnection } from './catalog.js';

export interface UpstreamOptions {
  /** Resolves a credential reference (env:NAME, file:/path). */
  resolveCredential(reference: string): string;
  /** The environment a stdio server inherits besides its own settings (PATH, HOME; never the gateway's secrets). */
  baseEnv: Readonly<Record<string, string>>;
  /** Where a stdio server's stderr goes ('ignore' unless diagnosing). */
  stderr?: 'ignore' | 'inherit';
}

/** The transport to the connection's server (not yet started). */
export function upstreamTransport(connection: McpConnection, options: UpstreamOptions): Transport {
  const u = connection.upstream;
  if (u.transport === 'stdio') {
    const secrets = Object.fromEntries(Object.entries(u.secretEnv).map(([k, ref]) => [k, options.resolveCredential(ref)]));
    return new StdioClientTransport({
      command: u.command,
      args: [...u.args],
      env: { ...options.baseEnv, ...u.env, ...secrets },
      ...(u.cwd === null ? {} : { cwd: u.cwd }),
      stderr: options.stderr ?? 'ignore',
    });
  }
  const headers: Record<string, string> = u.bearer === null ? {} : { authorization: `Bearer ${options.resolveCredential(u.bearer)}` };
  return new StreamableHTTPClientTransport(new URL(u.url), { requestInit: { headers } });
}

/**
 * What the gateway offers every server: sampling and elicitation, whatever the agent offers, so
 * that what a server asks for is a request policy decides, and every agent (and the pinning
 * administrator) sees the same tools: some servers list tools by the client's capabilities.
 * Never roots: a server's confinement is the gateway's configuration, not the agent's to widen.
 */
export const GATEWAY_CLIENT_CAPABILITIES: ClientCapabilities = Object.freeze({ sampling: {}, elicitation: {} });

/** A new SDK client, not yet connected, offering GATEWAY_CLIENT_CAPABILITIES. */
export function upstreamClient(clientInfo: { name: string; version: string }): Client {
  return new Client(clientInfo, { capabilities: GATEWAY_CLIENT_CAPABILITIES });
}
