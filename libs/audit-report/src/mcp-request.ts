// The MCP side of a replay: an McpRequest detail read back from a RequestObserved's payload_json
// (MCP requests leave sql_text empty), and its lines in the transcript: what was asked
// (`tools/call read_text_file {"path":…}`), which tool version the server described, which tools
// a tools/list showed or hid, and the response. Lines come back unescaped: the transcript escapes
// every line it prints.
import { bodyResponseLines, type ResponseSummary, SHOWN_CHARS, type TranscriptBody } from './http-request.js';
import { type Json, optNumber, optString, shorten, unionRecord } from './payload-values.js';

/** What an MCP request asked for, as recorded (McpRequest in schemas/audit-event.avsc). */
export interface TranscriptMcp {
  /** tools/call, resources/read, prompts/get, tools/list; sampling/createMessage, elicitation/create. */
  method: string;
  /** tools/call: the tool; prompts/get: the prompt. */
  name: string | null;
  /** resources/read: the resource's URI. */
  uri: string | null;
  /** The arguments as JSON text, detector matches redacted; null past the audit cap. */
  arguments: string | null;
  argumentsBytes: number;
  /** tools/call: the fingerprint of the tool as the server described it then; null when it did not list it. */
  toolFingerprint: string | null;
  /** tools/list: every tool the server offered. */
  tools: { name: string; fingerprint: string }[];
  /** The server's name and version. */
  server: string | null;
}

/** The McpRequest of a RequestObserved payload, or null when the detail is another kind. */
export function mcpRequestOf(payload: Json): TranscriptMcp | null {
  const d = unionRecord(payload['detail'], 'McpRequest');
  if (d === null) return null;
  const tools = Array.isArray(d['tools']) ? d['tools'] : [];
  return {
    method: optString(d['method']) ?? '?',
    name: optString(d['name']),
    uri: optString(d['uri']),
    arguments: optString(d['arguments']),
    argumentsBytes: optNumber(d['argumentsBytes']) ?? 0,
    toolFingerprint: optString(d['toolFingerprint']),
    tools: tools.map((t) => ({
      name: optString((t as Json | null)?.['name']) ?? '',
      fingerprint: optString((t as Json | null)?.['fingerprint']) ?? '',
    })),
    server: optString(d['server']),
  };
}

function argumentsText(m: TranscriptMcp): string {
  if (m.arguments !== null) return ` ${shorten(m.arguments, SHOWN_CHARS)}`;
  return m.argumentsBytes > 0 ? ` (arguments ${m.argumentsBytes} bytes, not recorded)` : '';
}

/**
 * One line saying what the request asked for. `shown` is what the live verdict let a tools/list
 * show (its visibleTools), null without a verdict.
 */
export function mcpText(m: TranscriptMcp, shown: readonly string[] | null): string {
  switch (m.method) {
    case 'tools/call':
    case 'prompts/get':
      return `${m.method} ${m.name ?? '?'}${argumentsText(m)}`;
    case 'resources/read':
      return `${m.method} ${m.uri ?? '?'}`;
    case 'tools/list':
      return `tools/list (${m.tools.length} offered${shown === null ? '' : `, ${shown.length} shown`})`;
    default:
      return `${m.method}${argumentsText(m)}`;
  }
}

/** The lines under the request: the server, the called tool's fingerprint, what a tools/list hid. */
export function mcpDetailLines(m: TranscriptMcp, shown: readonly string[] | null): string[] {
  const lines: string[] = [];
  if (m.server !== null && m.server !== '') lines.push(`server: ${m.server}`);
  if (m.method === 'tools/call') lines.push(`tool fingerprint: ${m.toolFingerprint ?? 'none (the server did not list this tool)'}`);
  if (m.method === 'tools/list' && shown !== null) {
    const visible = new Set(shown);
    const hidden = m.tools.filter((t) => !visible.has(t.name)).map((t) => t.name);
    lines.push(`shown: ${shown.length > 0 ? shown.join(', ') : 'none'}`);
    if (hidden.length > 0) lines.push(`hidden: ${hidden.join(', ')}`);
  }
  return lines;
}

/** The response of an MCP request: outcome and error code, size, masking counts, the start of the result. */
export function mcpResponseLines(r: ResponseSummary, body: TranscriptBody, timing: string): string[] {
  const size = body.bodySample === null && body.bytes === 0 ? ', no result' : `, ${body.bytes} bytes`;
  return bodyResponseLines(r, size, 'result', body, timing);
}
