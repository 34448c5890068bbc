// MCP clients for the e2e tests: the official SDK's client over Streamable HTTP to the gateway's
// /mcp/<connection>, trusting the stack's CA, with an identity's token; and the inspector's CLI.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { ROOT, stack, token } from './stack.js';

export const MCP_BASE = `https://127.0.0.1:${process.env['AG_HTTP_INGRESS_PORT'] ?? 18443}/mcp`;

let dispatcher: Agent | undefined;

/** fetch that trusts the stack's CA (the gateway's certificate is the stack's). */
export const stackFetch = ((url: string | URL, init?: RequestInit) => {
  // Idle connections are dropped by this side first (the gateway closes them after 5 s).
  dispatcher ??= new Agent({ connect: { ca: readFileSync(stack.caFile, 'utf8') }, keepAliveMaxTimeout: 2000 });
  return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
}) as unknown as typeof fetch;

export interface McpAgent {
  client: Client;
  transport: StreamableHTTPClientTransport;
  close(): Promise<void>;
}

/** An SDK client connected through the gateway to `connection` as `who`. */
export async function mcpAgent(
  connection: string,
  who = 'demo-agent',
  options: { capabilities?: ClientCapabilities; name?: string } = {},
): Promise<McpAgent> {
  const transport = new StreamableHTTPClientTransport(new URL(`${MCP_BASE}/${connection}`), {
    fetch: stackFetch,
    requestInit: { headers: { authorization: `Bearer ${token(who)}` } },
  });
  const client = new Client({ name: options.name ?? 'agentgate-e2e', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

/** The error data the gateway puts in a JSON-RPC error (its AG_ERR_* code, request and session ids). */
export function gatewayErrorData(err: unknown): { code?: string; requestId?: string; sessionId?: string; approvalId?: string } {
  const data = (err as { data?: unknown }).data;
  return typeof data === 'object' && data !== null ? (data as ReturnType<typeof gatewayErrorData>) : {};
}

export interface InspectorResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * @modelcontextprotocol/inspector's CLI mode against the gateway, as `who`. Asynchronous: a
 * blocked event loop would keep this process's kept-alive connections from noticing the
 * gateway closing them, and the next request would go out on a dead socket.
 */
export function inspector(connection: string, args: string[], who = 'demo-agent'): Promise<InspectorResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/index.js'),
        `${MCP_BASE}/${connection}`,
        '--transport',
        'http',
        '--header',
        `Authorization: Bearer ${token(who)}`,
        ...args,
      ],
      // Its cwd is its build folder: it finds its own package.json relative to the cwd.
      {
        cwd: join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build'),
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.caFile },
      },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
