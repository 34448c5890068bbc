// The audit payloads of an MCP session: the session, each request (McpRequest detail) and its
// response. Arguments and results are recorded as JSON text with every detector match redacted
// and capped, whatever policy says: the request is recorded before any verdict exists. Pure.
import { createHash } from 'node:crypto';
import {
  type McpRequest,
  type McpTool,
  type ResponseObserved,
  type ResponseOutcome,
  responseObserved,
  type SessionOpened,
} from '@agentgate/events';
import type { McpConnection } from '@agentgate/mcp';
import { bodySample, redactText } from '../audit-redaction.js';
import { type EdgeClient, edgeSessionOpened } from '../records.js';

/** The SessionOpened of one MCP session; a stdio server has no host or port. */
export function mcpSessionOpened(connection: McpConnection, client: EdgeClient, ingressInstance: string): SessionOpened {
  const u = connection.upstream;
  let host: string | null = null;
  let port: number | null = null;
  if (u.transport === 'http') {
    const url = new URL(u.url);
    host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  }
  return edgeSessionOpened('mcp', connection.name, { host, port, user: null }, client, ingressInstance);
}

/** The recorded form of a request's arguments: redacted JSON text, or null past `cap` bytes. */
export function recordedArguments(args: unknown, cap: number): Pick<McpRequest, 'arguments' | 'argumentsBytes' | 'argumentsDigest'> {
  if (args === undefined) return { arguments: null, argumentsBytes: 0, argumentsDigest: null };
  const text = JSON.stringify(args);
  const bytes = Buffer.byteLength(text, 'utf8');
  return {
    arguments: bytes <= cap ? JSON.stringify(redactJson(args)) : null,
    argumentsBytes: bytes,
    argumentsDigest: createHash('sha256').update(text).digest('hex'),
  };
}

/**
 * `value` with every string and object key redacted, each read as the string it is: on JSON text
 * the detectors would read escapes (`\n`, `\"`) and miss the secrets beside them. Keys that
 * redact to the same text keep the last value (the record loses a value, never shows a secret).
 */
export function redactJson(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactText(k), redactJson(v)]));
  return value;
}

/** The McpRequest detail as recorded; the agent's free text (name, uri) redacted like arguments. */
export function mcpDetail(fields: Partial<Omit<McpRequest, 'kind'>> & { method: string }): McpRequest {
  const detail: McpRequest = {
    kind: 'mcp',
    name: null,
    uri: null,
    arguments: null,
    argumentsBytes: 0,
    argumentsDigest: null,
    toolFingerprint: null,
    tools: [] as McpTool[],
    server: null,
    ...fields,
  };
  return {
    ...detail,
    name: detail.name === null ? null : redactText(detail.name),
    uri: detail.uri === null ? null : redactText(detail.uri),
  };
}

/** A ResponseObserved of an MCP request: outcome, the masked result's sample and digest. */
export function mcpResponse(
  requestId: string,
  outcome: ResponseOutcome,
  fields: {
    durationUs: number;
    /** The result as the agent received it (masked); undefined when it received none. */
    result?: unknown;
    sampleBytes: number;
    masking?: Record<string, number>;
    errorCode?: string | null;
    errorMessage?: string | null;
  },
): ResponseObserved {
  let bytes = 0;
  let digest: string | null = null;
  let sample: string | null = null;
  let truncated = false;
  if (fields.result !== undefined) {
    const text = Buffer.from(JSON.stringify(fields.result), 'utf8');
    bytes = text.length;
    digest = createHash('sha256').update(text).digest('hex');
    // Redacted string by string first (see redactJson); bodySample cuts it to the cap.
    sample = bodySample(Buffer.from(JSON.stringify(redactJson(fields.result)), 'utf8'), fields.sampleBytes);
    truncated = text.length > fields.sampleBytes;
  }
  return responseObserved(requestId, outcome, {
    durationUs: fields.durationUs,
    bytes,
    sampleTruncated: truncated,
    resultDigest: digest,
    errorCode: fields.errorCode ?? null,
    errorMessage: fields.errorMessage === undefined || fields.errorMessage === null ? null : redactText(fields.errorMessage),
    ...(fields.masking ? { masking: fields.masking } : {}),
    bodySample: sample,
  });
}
