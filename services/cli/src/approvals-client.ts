// The approval service's REST API, as the CLI calls it: one bearer-authenticated request per
// call. Answers come back as data, errors as RFC 9457 problem details; only a service that
// cannot be reached (or answers with something that is not JSON) throws.
import { GatewayError } from '@agentgate/errors';
import { reasonOf } from './backends.js';

export interface ApprovalsEndpoint {
  /** e.g. http://127.0.0.1:18080, without a trailing slash. */
  baseUrl: string;
  /** The caller's access token; sent to the approval service only, never printed. */
  token: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

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

export type Verdict = 'approve' | 'deny';

export interface ApprovalsClient {
  list(status: 'pending' | 'all'): Promise<ApiResult<unknown>>;
  get(id: string): Promise<ApiResult<unknown>>;
  decide(id: string, verdict: Verdict, comment: string | undefined): Promise<ApiResult<unknown>>;
}

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

export function createApprovalsClient(endpoint: ApprovalsEndpoint): ApprovalsClient {
  const timeoutMs = endpoint.timeoutMs ?? 10_000;

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResult<unknown>> {
    const url = `${endpoint.baseUrl}${path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${endpoint.token}`,
      accept: 'application/json, application/problem+json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      // No redirects: the bearer token goes to the configured service and nowhere else.
      response = await fetch(url, {
        method,
        headers,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await response.text();
    } catch (cause) {
      throw new GatewayError(
        'AG_ERR_UPSTREAM_UNAVAILABLE',
        `the approval service at ${endpoint.baseUrl} is unreachable (${reasonOf(cause)})`,
        { cause },
      );
    }
    if (response.status < 200 || response.status > 299)
      return { ok: false, problem: problemOf(response.status, response.statusText, text) };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      throw new GatewayError(
        'AG_ERR_PROTOCOL_VIOLATION',
        `the approval service at ${endpoint.baseUrl} answered ${method} ${path} with HTTP ${response.status} but no JSON; is the URL right?`,
      );
    }
  }

  const item = (id: string): string => `/v1/approvals/${encodeURIComponent(id)}`;
  return {
    list: (status) => call('GET', `/v1/approvals?status=${status}`),
    get: (id) => call('GET', item(id)),
    // The comment is left out, not sent empty, when none was given.
    decide: (id, verdict, comment) => call('POST', `${item(id)}/${verdict}`, comment === undefined ? {} : { comment }),
  };
}
