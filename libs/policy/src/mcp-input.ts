// The MCP part of a PolicyInput, from a recorded McpRequest (the processor) or a test case.
// Pure: the arguments are parsed here once per request, so every rule reads the same document.
import type { McpRequest } from '@agentgate/events';
import type { McpTestRequest } from './compile.js';
import type { McpArguments, McpInput } from './types.js';

type McpFields = Pick<McpRequest, 'method' | 'name' | 'uri' | 'arguments' | 'argumentsBytes' | 'toolFingerprint' | 'tools'>;

/**
 * What the policy sees of an MCP request. Arguments the record does not hold (past the audit
 * cap: `arguments` null, `argumentsBytes` > 0) or that do not parse are `unreadable`, never "no
 * arguments". The recorded arguments have the detectors' matches redacted already.
 */
export function mcpInput(r: McpFields): McpInput {
  return {
    method: r.method,
    name: r.name,
    uri: r.uri,
    arguments: parseArguments(r.arguments, r.argumentsBytes),
    toolFingerprint: r.toolFingerprint,
    tools: r.tools.map((t) => ({ name: t.name, fingerprint: t.fingerprint })),
  };
}

function parseArguments(text: string | null, bytes: number): McpArguments {
  if (text === null || text === '') return bytes > 0 ? 'unreadable' : null;
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return 'unreadable';
  }
}

/** A tool's fingerprint in a test case that does not give one: never equal to a pin. */
const UNPINNED = '';

/**
 * A test case's MCP request on `connection`, against the policy's pins. The method defaults from
 * what is given (tool: tools/call, prompt: prompts/get, resource: resources/read, else
 * tools/list). `fingerprint` defaults to the tool's pin (null = the server no longer lists the
 * tool); `tools` defaults to every tool pinned on the connection, each as pinned; a tool given by
 * name alone has its pinned fingerprint. `arguments` is the raw text when a string, else any
 * value, sent as its JSON text.
 */
export function mcpTestInput(
  t: McpTestRequest,
  connection: string | null,
  pins: ReadonlyMap<string, ReadonlyMap<string, string>>,
): McpInput {
  const pinned = (connection === null ? undefined : pins.get(connection)) ?? new Map<string, string>();
  const method =
    t.method ??
    (t.tool !== undefined
      ? 'tools/call'
      : t.prompt !== undefined
        ? 'prompts/get'
        : t.resource !== undefined
          ? 'resources/read'
          : 'tools/list');
  const name = t.tool ?? t.prompt ?? null;
  const text = t.arguments === undefined ? null : typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments);
  const tools =
    t.tools === undefined
      ? [...pinned].map(([tool, fingerprint]) => ({ name: tool, fingerprint }))
      : t.tools.map((x) => (typeof x === 'string' ? { name: x, fingerprint: pinned.get(x) ?? UNPINNED } : x));
  return mcpInput({
    method,
    name,
    uri: t.resource ?? null,
    arguments: text,
    argumentsBytes: text === null ? 0 : Buffer.byteLength(text),
    toolFingerprint: t.fingerprint !== undefined ? t.fingerprint : t.tool !== undefined ? (pinned.get(t.tool) ?? null) : null,
    tools: t.tools !== undefined || method === 'tools/list' ? tools : [],
  });
}
