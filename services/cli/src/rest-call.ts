// One bearer-authenticated JSON request to one of the gateway's REST services (approvals, audit
// API): answers come back as data, errors as RFC 9457 problem details; only a service that
// cannot be reached, or answers with something that is not JSON, throws.
import { InvalidArgumentError } from 'commander';
import { GatewayError, type ErrorCode } from '@agentgate/errors';
import { reasonOf } from './backends.js';

/** An RFC 9457 problem, or what stands in for one when the service did not send one. */
export interface Problem {
  status: number;
  /** `AG_ERR_*` from the service, or `HTTP <status>` when the answer carried no code. */
  code: string;
  detail: string;
  title: string | null;
  type: string | null;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/** A problem from a non-2xx answer: the service's problem+json if it sent one, else the status and a line of the body. */
export function problemOf(status: number, statusText: string, body: string): Problem {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    doc = undefined;
  }
  const p = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  const text = (key: string): string | null => (typeof p[key] === 'string' && p[key] !== '' ? (p[key] as string) : null);
  // Something in front of the service (a proxy) may answer in HTML: one line of it at most.
  const fallback = body.replace(/\s+/g, ' ').trim().slice(0, 200) || statusText || 'no detail';
  return {
    status,
    code: text('code') ?? `HTTP ${status}`,
    detail: text('detail') ?? text('title') ?? fallback,
    title: text('title'),
    type: text('type'),
  };
}

export interface RestService {
  /** e.g. http://127.0.0.1:18080, without a trailing slash. */
  baseUrl: string;
  /** The caller's access token; sent to this service only, never printed. */
  token: string;
  timeoutMs: number;
  /** How the service is named in errors ("the approval service"). */
  name: string;
  /** The code when the service cannot be reached. */
  unreachable: ErrorCode;
  fetch?: typeof fetch;
}

export type RestCall = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => Promise<ApiResult<unknown>>;

/** A caller of one service. */
export function restCaller(service: RestService): RestCall {
  const doFetch = service.fetch ?? fetch;
  return async (method, path, body) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${service.token}`,
      accept: 'application/json, application/problem+json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      // No redirects: the bearer token goes to the configured service and nowhere else.
      response = await doFetch(`${service.baseUrl}${path}`, {
        method,
        headers,
        redirect: 'error',
        signal: AbortSignal.timeout(service.timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await response.text();
    } catch (cause) {
      throw new GatewayError(service.unreachable, `${service.name} at ${service.baseUrl} is unreachable (${reasonOf(cause)})`, { cause });
    }
    if (response.status < 200 || response.status > 299)
      return { ok: false, problem: problemOf(response.status, response.statusText, text) };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      throw new GatewayError(
        'AG_ERR_PROTOCOL_VIOLATION',
        `${service.name} at ${service.baseUrl} answered ${method} ${path} with HTTP ${response.status} but no JSON; is the URL right?`,
      );
    }
  };
}

/** --url of a REST service: an http(s) URL (a commander argument parser). */
export function serviceUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('--url must be an http(s) URL, e.g. http://127.0.0.1:18080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('--url must be an http(s) URL');
  return value;
}
