import { hostname } from 'node:os';
import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface SshIngressConfig extends PipelineConfig {
  listenHost: string;
  listenPort: number;
  /** The certificate API (`agentgate ssh login`); 0 = an ephemeral port. */
  certApiPort: number;
  /** OpenSSH private key file of the ingress's host key (agents pin its fingerprint). */
  hostKeyFile: string;
  /** PKCS#8 PEM Ed25519 key of the SSH CA that signs agents' certificates. */
  caKeyFile: string;
  connectionsFile: string;
  identityFile: string;
  verdictGroup: string;
  controlGroup: string;
  verdictProducers: string[];
  verdictTimeoutMs: number;
  approvalWaitMs: number;
  approvalsUrl: string;
  auditWriteTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  /** A client must authenticate within this time. */
  authTimeoutMs: number;
  maxSessions: number;
  /** Terminal output and input are recorded in batches, one per tick at most. */
  terminalTickMs: number;
  /** Longest life of a certificate the CA issues (never past the token's expiry). */
  maxCertTtlSec: number;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<SshIngressConfig> {
  const r = new EnvReader(env);
  const listenPort = r.int('AG_SSH_INGRESS_PORT', 12222, { min: 0, max: 65535 });
  const instanceName = r.string('AG_INSTANCE_NAME', `${hostname()}-${listenPort}`);
  const common = readPipelineConfig(r, {
    serviceName: 'ingress-ssh',
    adminPortVar: 'AG_INGRESS_SSH_ADMIN_PORT',
    adminPort: 15487,
    processId,
  });
  return r.done({
    ...common,
    instanceId: env['AG_INSTANCE_ID'] ?? `${common.serviceName}/${instanceName}/${processId}`,
    listenHost: r.string('AG_SSH_INGRESS_HOST', '127.0.0.1'),
    listenPort,
    certApiPort: r.int('AG_SSH_CERT_API_PORT', 18083, { min: 0, max: 65535 }),
    hostKeyFile: r.string('AG_SSH_HOST_KEY_FILE'),
    caKeyFile: r.string('AG_SSH_CA_KEY_FILE'),
    connectionsFile: r.string('AG_CONNECTIONS_FILE'),
    identityFile: r.string('AG_IDENTITY_FILE'),
    verdictGroup: r.string('AG_VERDICT_GROUP', `agentgate-ingress-ssh.${instanceName}`),
    controlGroup: r.string('AG_CONTROL_GROUP', `agentgate-ingress-ssh-control.${instanceName}`),
    verdictProducers: r.list('AG_VERDICT_PRODUCERS', ['policy-processor']),
    verdictTimeoutMs: r.int('AG_VERDICT_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
    approvalWaitMs: r.int('AG_APPROVAL_WAIT_MS', 30_000, { min: 0, max: 3_600_000 }),
    approvalsUrl: r.string('AG_PUBLIC_APPROVALS_URL', 'http://127.0.0.1:18080'),
    auditWriteTimeoutMs: r.int('AG_AUDIT_WRITE_TIMEOUT_MS', 4000, { min: 100, max: 600_000 }),
    upstreamConnectTimeoutMs: r.int('AG_UPSTREAM_CONNECT_TIMEOUT_MS', 5000, { min: 100, max: 600_000 }),
    authTimeoutMs: r.int('AG_SSH_AUTH_TIMEOUT_MS', 30_000, { min: 1000, max: 600_000 }),
    maxSessions: r.int('AG_SSH_MAX_SESSIONS', 200, { min: 1 }),
    terminalTickMs: r.int('AG_SSH_TERMINAL_TICK_MS', 20, { min: 1, max: 1000 }),
    maxCertTtlSec: r.int('AG_SSH_MAX_CERT_TTL_SEC', 3600, { min: 60, max: 86_400 }),
  });
}
