// The CLI's settings, read from the environment once per invocation (before the command
// runs, after the command line was accepted, so `--help` works whatever the environment).
import { join } from 'node:path';
import { EnvReader, type EnvMap } from '@agentgate/config';

export interface CliConfig {
  /** The checkout the CLI runs from: the base of the local stack's default paths. */
  repoRoot: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  kafkaBrokers: string[];
  /** The Kafka principal administrators' commands act as (`operator`: the only writer of the control topic). */
  kafkaUsername: string;
  kafkaPasswordFile: string;
  kafkaCaFile: string;
  /** ClickHouse login for reading the audit projection (`reader`, read-only). */
  clickhouseUser: string;
  clickhousePasswordFile: string;
  registryUrl: string;
  topicPrefix: string;
  /** Trusted issuers, the same file the ingress uses, so both accept the same tokens. */
  identityFile: string;
  /** Groups whose members may run admin commands (kill). */
  adminGroups: string[];
  connectionsFile: string;
  devIdpIssuer: string;
  /** `{ "<client_id>": "<secret>" }` written by the development IdP. */
  devIdpClientsFile: string;
  ingressHost: string;
  ingressPort: number;
  tlsCaFile: string;
  /** The approval service's REST API (AGENTGATE_APPROVALS_URL), without a trailing slash. */
  approvalsUrl: string;
  /** The audit API (AGENTGATE_AUDIT_URL): legal holds and retention; without a trailing slash. */
  auditUrl: string;
  /** AGENTGATE_TOKEN: the caller's access token, or null. Never printed. */
  token: string | null;
  /** Trusted checkpoint signing keys (`{"keys":[{"keyId","publicKey","comment"}]}`), for `verify`. */
  checkpointKeysFile: string;
}

/** Parses the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, repoRoot: string): Readonly<CliConfig> {
  const r = new EnvReader(env);
  // The stack keeps its state under AG_STACK_DIR (default .stack), as deploy/local/lib.sh does.
  const stackDir = r.string('AG_STACK_DIR', join(repoRoot, '.stack'));
  const token = (env['AGENTGATE_TOKEN'] ?? '').trim();
  return r.done({
    repoRoot,
    clickhouseUrl: r.url('AG_CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
    clickhouseDatabase: r.string('AG_CLICKHOUSE_DATABASE', 'agentgate'),
    kafkaBrokers: r.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']),
    // Files are read when a command needs them, so `token` and `--help` work without them.
    kafkaUsername: r.string('AG_CLI_KAFKA_USERNAME', 'operator'),
    kafkaPasswordFile: r.string('AG_CLI_KAFKA_PASSWORD_FILE', join(stackDir, 'secrets/kafka-operator.password')),
    kafkaCaFile: r.string('AG_KAFKA_CA_FILE', join(stackDir, 'tls/ca.crt')),
    clickhouseUser: r.string('AG_CLI_CLICKHOUSE_USER', 'reader'),
    clickhousePasswordFile: r.string('AG_CLI_CLICKHOUSE_PASSWORD_FILE', join(stackDir, 'secrets/clickhouse-reader.password')),
    registryUrl: r.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
    topicPrefix: r.string('AG_TOPIC_PREFIX', 'agentgate'),
    identityFile: r.string('AG_IDENTITY_FILE', join(repoRoot, 'deploy/identity.json')),
    adminGroups: r.list('AG_ADMIN_GROUPS', ['gateway-admins']),
    connectionsFile: r.string('AG_CONNECTIONS_FILE', join(repoRoot, 'deploy/connections.json')),
    devIdpIssuer: r.url('AG_DEV_IDP_ISSUER', 'http://127.0.0.1:14000').replace(/\/+$/, ''),
    devIdpClientsFile: r.string('AG_DEV_IDP_CLIENTS_FILE', join(stackDir, 'secrets/dev-idp-clients.json')),
    ingressHost: r.string('AG_PG_INGRESS_HOST', '127.0.0.1'),
    ingressPort: r.int('AG_PG_INGRESS_PORT', 15432, { min: 1, max: 65535 }),
    tlsCaFile: r.string('AG_TLS_CA_FILE', join(stackDir, 'tls/ca.crt')),
    approvalsUrl: r.url('AGENTGATE_APPROVALS_URL', 'http://127.0.0.1:18080').replace(/\/+$/, ''),
    auditUrl: r.url('AGENTGATE_AUDIT_URL', 'http://127.0.0.1:18082').replace(/\/+$/, ''),
    token: token === '' ? null : token,
    // Read by `verify` only; the checkpointer publishes its public key there in the local stack.
    checkpointKeysFile: r.string('AG_CHECKPOINT_KEYS_FILE', join(stackDir, 'run/checkpoint-keys.json')),
  });
}
