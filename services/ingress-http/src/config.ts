import { hostname } from 'node:os';
import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface HttpIngressConfig extends PipelineConfig {
  listenHost: string;
  listenPort: number;
  /** PEM certificate and key the ingress serves HTTPS with. */
  tlsCertFile: string;
  tlsKeyFile: string;
  connectionsFile: string;
  identityFile: string;
  verdictGroup: string;
  /** The consumer group of the control feed (kills of MCP sessions). */
  controlGroup: string;
  verdictProducers: string[];
  verdictTimeoutMs: number;
  /** How long a request sent for approval is held for its decision; 0 = answered pending at once. */
  approvalWaitMs: number;
  approvalsUrl: string;
  auditWriteTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  /** From the request sent to the upstream's response headers. */
  upstreamHeadersTimeoutMs: number;
  /** Longest silence inside an upstream body (an event stream's idle time); 0 = none. */
  upstreamBodyTimeoutMs: number;
  /** Largest request body forwarded; larger ones get 413 and nothing is sent. */
  maxBodyBytes: number;
  /** How much of a request body (as text) and of a response body (bodySample) the audit log keeps. */
  auditBodyBytes: number;
  /** MCP: how long a call sent for approval is held for its decision (under the SDK's 60 s request timeout). */
  mcpApprovalWaitMs: number;
  /** MCP: longest wait for a server's answer to one forwarded request. */
  mcpCallTimeoutMs: number;
  /** MCP: a session without any request for this long is ended (its server process stopped). */
  mcpSessionIdleMs: number;
  mcpMaxSessions: number;
  mcpMaxSessionsPerIdentity: number;
  /** How long a verified token is trusted without verifying it again (never past its expiry); 0 = verify every request. */
  tokenCacheMs: number;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<HttpIngressConfig> {
  const r = new EnvReader(env);
  const listenPort = r.int('AG_HTTP_INGRESS_PORT', 18443, { min: 0, max: 65535 });
  const instanceName = r.string('AG_INSTANCE_NAME', `${hostname()}-${listenPort}`);
  const common = readPipelineConfig(r, {
    serviceName: 'ingress-http',
    adminPortVar: 'AG_INGRESS_HTTP_ADMIN_PORT',
    adminPort: 15488,
    processId,
  });
  return r.done({
    ...common,
    instanceId: env['AG_INSTANCE_ID'] ?? `${common.serviceName}/${instanceName}/${processId}`,
    listenHost: r.string('AG_HTTP_INGRESS_HOST', '127.0.0.1'),
    listenPort,
    tlsCertFile: r.string('AG_HTTP_TLS_CERT_FILE'),
    tlsKeyFile: r.string('AG_HTTP_TLS_KEY_FILE'),
    connectionsFile: r.string('AG_CONNECTIONS_FILE'),
    identityFile: r.string('AG_IDENTITY_FILE'),
    verdictGroup: r.string('AG_VERDICT_GROUP', `agentgate-ingress-http.${instanceName}`),
    controlGroup: r.string('AG_CONTROL_GROUP', `agentgate-ingress-http-control.${instanceName}`),
    verdictProducers: r.list('AG_VERDICT_PRODUCERS', ['policy-processor']),
    verdictTimeoutMs: r.int('AG_VERDICT_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
    approvalWaitMs: r.int('AG_HTTP_APPROVAL_WAIT_MS', 0, { min: 0, max: 3_600_000 }),
    approvalsUrl: r.string('AG_PUBLIC_APPROVALS_URL', 'http://127.0.0.1:18080'),
    auditWriteTimeoutMs: r.int('AG_AUDIT_WRITE_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
    upstreamConnectTimeoutMs: r.int('AG_UPSTREAM_CONNECT_TIMEOUT_MS', 5000, { min: 100, max: 600_000 }),
    upstreamHeadersTimeoutMs: r.int('AG_HTTP_UPSTREAM_HEADERS_TIMEOUT_MS', 60_000, { min: 100, max: 3_600_000 }),
    upstreamBodyTimeoutMs: r.int('AG_HTTP_UPSTREAM_BODY_TIMEOUT_MS', 300_000, { min: 0, max: 86_400_000 }),
    maxBodyBytes: r.int('AG_HTTP_MAX_BODY_BYTES', 8 * 1024 * 1024, { min: 0, max: 1024 * 1024 * 1024 }),
    auditBodyBytes: r.int('AG_HTTP_AUDIT_BODY_BYTES', 64 * 1024, { min: 0, max: 1024 * 1024 }),
    mcpApprovalWaitMs: r.int('AG_MCP_APPROVAL_WAIT_MS', 50_000, { min: 0, max: 3_600_000 }),
    mcpCallTimeoutMs: r.int('AG_MCP_CALL_TIMEOUT_MS', 120_000, { min: 100, max: 3_600_000 }),
    mcpSessionIdleMs: r.int('AG_MCP_SESSION_IDLE_MS', 15 * 60_000, { min: 1000, max: 86_400_000 }),
    mcpMaxSessions: r.int('AG_MCP_MAX_SESSIONS', 64, { min: 1, max: 10_000 }),
    mcpMaxSessionsPerIdentity: r.int('AG_MCP_MAX_SESSIONS_PER_IDENTITY', 8, { min: 1, max: 10_000 }),
    tokenCacheMs: r.int('AG_HTTP_TOKEN_CACHE_MS', 30_000, { min: 0, max: 300_000 }),
  });
}
