// The audit API's governance routes (legal holds, retention), as the CLI calls them: one
// bearer-authenticated request per call. Answers come back as data, errors as RFC 9457 problem
// details (problemOf, shared with the approvals client); only a service that cannot be reached,
// or answers with something that is not JSON, throws.
import { GatewayError } from '@agentgate/errors';
import { restCaller, type ApiResult } from './rest-call.js';
import { callerToken } from './caller.js';
import type { CliConfig } from './config.js';

export interface AuditApiEndpoint {
  /** e.g. http://127.0.0.1:18082, without a trailing slash. */
  baseUrl: string;
  /** The caller's access token (an auditor's); sent to the audit API only, never printed. */
  token: string;
  /** Per request; default 60 s (a retention run drops partitions before it answers). */
  timeoutMs?: number;
  /** Injected by tests. */
  fetch?: typeof fetch;
}

export interface AuditApiClient {
  listHolds(): Promise<ApiResult<unknown>>;
  addHold(sessionId: string, reason: string): Promise<ApiResult<unknown>>;
  removeHold(sessionId: string, reason: string): Promise<ApiResult<unknown>>;
  applyRetention(request: { olderThanDays?: number | undefined; dryRun: boolean }): Promise<ApiResult<unknown>>;
}

export function createAuditApiClient(endpoint: AuditApiEndpoint): AuditApiClient {
  const call = restCaller({
    baseUrl: endpoint.baseUrl,
    token: endpoint.token,
    timeoutMs: endpoint.timeoutMs ?? 60_000,
    name: 'the audit API',
    unreachable: 'AG_ERR_AUDIT_UNAVAILABLE',
    ...(endpoint.fetch === undefined ? {} : { fetch: endpoint.fetch }),
  });

  return {
    listHolds: () => call('GET', '/v1/holds'),
    addHold: (sessionId, reason) => call('POST', '/v1/holds', { sessionId, reason }),
    removeHold: (sessionId, reason) => call('DELETE', `/v1/holds/${encodeURIComponent(sessionId)}`, { reason }),
    applyRetention: ({ olderThanDays, dryRun }) =>
      call('POST', '/v1/retention/apply', olderThanDays === undefined ? { dryRun } : { olderThanDays, dryRun }),
  };
}

export interface AuditApiOptions {
  /** --url; else AGENTGATE_AUDIT_URL; else the local stack's. */
  url?: string | undefined;
  tokenFile?: string | undefined;
  fetch?: typeof fetch | undefined;
}

/** The client for this invocation; refuses before any request when there is no token. */
export async function auditApiClientFor(config: Readonly<CliConfig>, command: string, options: AuditApiOptions): Promise<AuditApiClient> {
  const token = await callerToken(config, options.tokenFile);
  if (token === null) {
    throw new GatewayError(
      'AG_ERR_AUTH_REQUIRED',
      `${command} needs an auditor's access token in AGENTGATE_TOKEN (or --token-file); the audit API admits members of auditors only`,
    );
  }
  return createAuditApiClient({
    baseUrl: (options.url ?? config.auditUrl).replace(/\/+$/, ''),
    token,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}
