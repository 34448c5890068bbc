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

/** The SessionOpened of one exchange (one request, one session). */
export function sessionOpened(
  connection: HttpConnection,
  client: { address: string; port: number; userAgent: string | undefined },
  ingressInstance: string,
): SessionOpened {
  return {
    protocol: 'http',
    connection: connection.name,
    targetHost: connection.host,
    targetPort: connection.port,
    targetDatabase: null,
    clientAddress: client.address,
    clientPort: client.port,
    clientTls: true,
    clientApplication: client.userAgent === undefined ? null : client.userAgent.slice(0, MAX_CLIENT_APPLICATION),
    ingressInstance,
    startupParameters: [],
    targetUser: connection.upstreamAuth.type === 'basic' ? connection.upstreamAuth.username : null,
  };
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
