// The audit payloads of one HTTP exchange: the session it is, the request, the response. Pure.
import {
  type HttpHeader,
  type HttpRequest,
  type ResponseObserved,
  type ResponseOutcome,
  responseObserved,
  type SessionOpened,
} from '@agentgate/events';
import type { HttpConnection } from './connections.js';

const MAX_CLIENT_APPLICATION = 256;

/** Who is calling, as the edge saw the connection. */
export interface EdgeClient {
  address: string;
  port: number;
  /** User-Agent, kept to its first 256 characters. */
  userAgent: string | null | undefined;
}

/** The SessionOpened of a session at this HTTPS edge: an HTTP exchange or an MCP session. */
export function edgeSessionOpened(
  protocol: 'http' | 'mcp',
  connection: string,
  target: { host: string | null; port: number | null; user: string | null },
  client: EdgeClient,
  ingressInstance: string,
): SessionOpened {
  return {
    protocol,
    connection,
    targetHost: target.host,
    targetPort: target.port,
    targetDatabase: null,
    clientAddress: client.address,
    clientPort: client.port,
    clientTls: true,
    clientApplication: client.userAgent == null ? null : client.userAgent.slice(0, MAX_CLIENT_APPLICATION),
    ingressInstance,
    startupParameters: [],
    targetUser: target.user,
  };
}

/** The SessionOpened of one exchange (one request, one session). */
export function sessionOpened(connection: HttpConnection, client: EdgeClient, ingressInstance: string): SessionOpened {
  const user = connection.upstreamAuth.type === 'basic' ? connection.upstreamAuth.username : null;
  return edgeSessionOpened('http', connection.name, { host: connection.host, port: connection.port, user }, client, ingressInstance);
}

/** An HttpRequest detail; the fields of Kubernetes requests stay empty. */
export function httpDetail(fields: {
  method: string;
  path: string;
  query: string | null;
  headers: HttpHeader[];
  bodyDigest: string | null;
  body: string | null;
  bodyBytes: number;
  contentType: string | null;
}): HttpRequest {
  return { kind: 'http', kubernetesVerb: null, kubernetesResource: null, kubernetesNamespace: null, ...fields };
}

/** ok for what the upstream answered 1xx-3xx, error for 4xx-5xx. */
export function outcomeOf(status: number): ResponseOutcome {
  return status >= 400 ? 'error' : 'ok';
}

/** A ResponseObserved of an HTTP request: the status and body digest, no rows or streams. */
export function httpResponse(
  requestId: string,
  outcome: ResponseOutcome,
  fields: {
    httpStatus: number | null;
    durationUs?: number;
    bytes?: number;
    resultDigest?: string | null;
    bodySample?: string | null;
    sampleTruncated?: boolean;
    masking?: Record<string, number>;
    errorCode?: string | null;
    errorMessage?: string | null;
  },
): ResponseObserved {
  return responseObserved(requestId, outcome, fields);
}
