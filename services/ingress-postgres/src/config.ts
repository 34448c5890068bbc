import { hostname } from 'node:os';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@agentgate/pg-wire';
import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface IngressConfig extends PipelineConfig {
  listenHost: string;
  listenPort: number;
  /** Consumer group of this instance's verdict feed; must be unique per running instance. */
  verdictGroup: string;
  connectionsFile: string;
  /** Trusted issuers (deploy/identity.json). */
  identityFile: string;
  /** PEM certificate and key offered to agents after SSLRequest; both empty = no TLS. */
  tlsCertFile: string;
  tlsKeyFile: string;
  maxSessions: number;
  maxSessionsPerIdentity: number;
  /** A session with no message from the agent for this long is ended; 0 = never. */
  idleTimeoutMs: number;
  /** First rows of each result kept in its ResponseObserved (when no masking is planned). */
  sampleRows: number;
  sampleBytes: number;
  /** `producer` values of verdicts this ingress accepts (the policy processor; later the approval service). */
  verdictProducers: string[];
  /** Consumer group of this instance's control feed (admin kill); unique per instance. */
  controlGroup: string;
  /** Budget for "request durable + verdict received"; past it the agent gets 08006. */
  verdictTimeoutMs: number;
  /** How long a statement sent for approval is held for its decision before the agent gets AG_ERR_APPROVAL_PENDING. */
  approvalWaitMs: number;
  /** Where approvers decide (the approval service's base URL), named in the notice an agent gets. */
  approvalsUrl: string;
  /** Budget for the blast radius estimate (EXPLAIN) of a statement sent for approval. */
  blastRadiusTimeoutMs: number;
  /** Budget for writing one audit event (session, response) before failing closed. */
  auditWriteTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  /** A client must finish its startup (and later, authentication) within this time. */
  startupTimeoutMs: number;
  /** SQL text kept in a RequestObserved; longer statements keep this prefix plus length and SHA-256. */
  auditMaxSqlBytes: number;
  /** Worker threads parsing SQL off the event loop. */
  sqlParserWorkers: number;
  /** Longest statement text the gateway parses; longer ones are refused (54000). */
  maxParsedSqlBytes: number;
  /** Limit on one message after login; PostgreSQL's own by default. */
  maxMessageBytes: number;
  /** Connections that have not finished authentication, in total and per client address. */
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  /** Send each new session a NOTICE with its audit session id (clients that set client_min_messages above notice never get it). */
  sessionNotice: boolean;
  /** Budget for resolving a FunctionCall's OID on the target (connecting included); past it the call is refused. */
  functionLookupTimeoutMs: number;
  /** How long the answer for a non-built-in function OID is trusted. */
  functionCacheTtlMs: number;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<IngressConfig> {
  const r = new EnvReader(env);
  const listenPort = r.int('AG_PG_INGRESS_PORT', 15432, { min: 0, max: 65535 });
  const instanceName = r.string('AG_INSTANCE_NAME', `${hostname()}-${listenPort}`);
  const common = readPipelineConfig(r, {
    serviceName: 'ingress-postgres',
    adminPortVar: 'AG_INGRESS_POSTGRES_ADMIN_PORT',
    adminPort: 15480,
    processId,
  });
  return r.done({
    ...common,
    instanceId: env['AG_INSTANCE_ID'] ?? `${common.serviceName}/${instanceName}/${processId}`,
    listenHost: r.string('AG_PG_INGRESS_HOST', '127.0.0.1'),
    listenPort,
    verdictGroup: r.string('AG_VERDICT_GROUP', `agentgate-ingress-postgres.${instanceName}`),
    connectionsFile: r.string('AG_CONNECTIONS_FILE'),
    identityFile: r.string('AG_IDENTITY_FILE'),
    tlsCertFile: r.string('AG_PG_TLS_CERT_FILE', ''),
    tlsKeyFile: r.string('AG_PG_TLS_KEY_FILE', ''),
    maxSessions: r.int('AG_PG_MAX_SESSIONS', 500, { min: 1 }),
    maxSessionsPerIdentity: r.int('AG_PG_MAX_SESSIONS_PER_IDENTITY', 50, { min: 1 }),
    idleTimeoutMs: r.int('AG_PG_IDLE_TIMEOUT_MS', 30 * 60 * 1000, { min: 0 }),
    sampleRows: r.int('AG_PG_SAMPLE_ROWS', 100, { min: 0, max: 10_000 }),
    sampleBytes: r.int('AG_PG_SAMPLE_BYTES', 64 * 1024, { min: 0, max: 16 * 1024 * 1024 }),
    verdictProducers: r.list('AG_VERDICT_PRODUCERS', ['policy-processor']),
    controlGroup: r.string('AG_CONTROL_GROUP', `agentgate-ingress-postgres-control.${instanceName}`),
    verdictTimeoutMs: r.int('AG_VERDICT_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
    approvalWaitMs: r.int('AG_APPROVAL_WAIT_MS', 30_000, { min: 0, max: 3_600_000 }),
    approvalsUrl: r.string('AG_PUBLIC_APPROVALS_URL', 'http://127.0.0.1:18080'),
    blastRadiusTimeoutMs: r.int('AG_BLAST_RADIUS_TIMEOUT_MS', 2000, { min: 100, max: 60_000 }),
    auditWriteTimeoutMs: r.int('AG_AUDIT_WRITE_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
    upstreamConnectTimeoutMs: r.int('AG_UPSTREAM_CONNECT_TIMEOUT_MS', 5000, { min: 100, max: 600_000 }),
    startupTimeoutMs: r.int('AG_PG_STARTUP_TIMEOUT_MS', 3000, { min: 100, max: 600_000 }),
    maxMessageBytes: r.int('AG_PG_MAX_MESSAGE_BYTES', DEFAULT_MAX_MESSAGE_BYTES, { min: 1024, max: DEFAULT_MAX_MESSAGE_BYTES }),
    auditMaxSqlBytes: r.int('AG_AUDIT_MAX_SQL_BYTES', 256 * 1024, { min: 1024, max: 768 * 1024 }),
    sqlParserWorkers: r.int('AG_SQL_PARSER_WORKERS', 2, { min: 1, max: 16 }),
    maxParsedSqlBytes: r.int('AG_PG_MAX_PARSED_SQL_BYTES', 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    maxUnauthenticated: r.int('AG_PG_MAX_UNAUTHENTICATED', 200, { min: 1 }),
    maxUnauthenticatedPerAddress: r.int('AG_PG_MAX_UNAUTHENTICATED_PER_ADDRESS', 50, { min: 1 }),
    sessionNotice: r.bool('AG_PG_SESSION_NOTICE', true),
    functionLookupTimeoutMs: r.int('AG_PG_FUNCTION_LOOKUP_TIMEOUT_MS', 3000, { min: 100, max: 600_000 }),
    functionCacheTtlMs: r.int('AG_PG_FUNCTION_CACHE_TTL_MS', 30_000, { min: 0, max: 3_600_000 }),
  });
}
