// The approval service's REST API, as the CLI calls it: one bearer-authenticated request per
// call. Answers come back as data, errors as RFC 9457 problem details; only a service that
// cannot be reached (or answers with something that is not JSON) throws.
import { restCaller, type ApiResult } from './rest-call.js';

export interface ApprovalsEndpoint {
  /** e.g. http://127.0.0.1:18080, without a trailing slash. */
  baseUrl: string;
  /** The caller's access token; sent to the approval service only, never printed. */
  token: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

export { problemOf, type ApiResult, type Problem } from './rest-call.js';

export type Verdict = 'approve' | 'deny';

export interface ApprovalsClient {
  list(status: 'pending' | 'all'): Promise<ApiResult<unknown>>;
  get(id: string): Promise<ApiResult<unknown>>;
  decide(id: string, verdict: Verdict, comment: string | undefined): Promise<ApiResult<unknown>>;
}

export function createApprovalsClient(endpoint: ApprovalsEndpoint): ApprovalsClient {
  const timeoutMs = endpoint.timeoutMs ?? 10_000;

  const call = restCaller({
    baseUrl: endpoint.baseUrl,
    token: endpoint.token,
    timeoutMs,
    name: 'the approval service',
    unreachable: 'AG_ERR_UPSTREAM_UNAVAILABLE',
  });

  const item = (id: string): string => `/v1/approvals/${encodeURIComponent(id)}`;
  return {
    list: (status) => call('GET', `/v1/approvals?status=${status}`),
    get: (id) => call('GET', item(id)),
    // The comment is left out, not sent empty, when none was given.
    decide: (id, verdict, comment) => call('POST', `${item(id)}/${verdict}`, comment === undefined ? {} : { comment }),
  };
}
