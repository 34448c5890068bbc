import { hostname } from 'node:os';
import { EnvReader, readClickHouseAuth, readKafkaAuth, type EnvMap, type KafkaAuth } from '@agentgate/config';

export interface AuditApiConfig {
  serviceName: string;
  instanceId: string;
  logLevel: string;
  /** /healthz, /readyz and /metrics. */
  adminPort: number;
  listenHost: string;
  listenPort: number;
  /** Trusted issuers of callers' tokens (deploy/identity.json). */
  identityFile: string;
  /** Callers must be members of this group. */
  auditorGroup: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  /** The read-only `reader` login in the stack. */
  clickhouseAuth: { username: string; password: string };
  queryTimeoutMs: number;
  /** Trusted checkpoint signing keys (`{"keys":[...]}`), read at each verification. */
  checkpointKeysFile: string;
  /** Kafka: the audit API is the only writer of governance records (legal holds, retention). */
  kafkaBrokers: string[];
  /** The `audit-api` principal; null = PLAINTEXT (never in the stack). */
  kafkaAuth: KafkaAuth | null;
  registryUrl: string;
  topicPrefix: string;
  /** The ClickHouse login that drops partitions (`retention`: may ALTER the agentgate database, nothing else). */
  retentionClickhouseAuth: { username: string; password: string };
  /** Default age of `retention apply` in days (AG_RETENTION_DAYS). */
  retentionDays: number;
  /** How long a hold waits to show in ClickHouse before it is answered anyway. */
  holdProjectionWaitMs: number;
}

/** The fewest days retention keeps: never the current month. */
export const MIN_RETENTION_DAYS = 31;

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<AuditApiConfig> {
  const r = new EnvReader(env);
  const serviceName = r.string('AG_SERVICE_NAME', 'audit-api');
  return r.done({
    serviceName,
    instanceId: r.string('AG_INSTANCE_ID', `${serviceName}/${hostname()}/${processId}`),
    logLevel: r.string('AG_LOG_LEVEL', 'info'),
    adminPort: r.int('AG_AUDIT_API_ADMIN_PORT', 15486, { min: 0, max: 65535 }),
    listenHost: r.string('AG_AUDIT_API_HOST', '127.0.0.1'),
    listenPort: r.int('AG_AUDIT_API_PORT', 18082, { min: 0, max: 65535 }),
    identityFile: r.string('AG_IDENTITY_FILE'),
    auditorGroup: r.string('AG_AUDIT_API_GROUP', 'auditors'),
    clickhouseUrl: r.url('AG_CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
    clickhouseDatabase: r.string('AG_CLICKHOUSE_DATABASE', 'agentgate'),
    clickhouseAuth: readClickHouseAuth(r),
    queryTimeoutMs: r.int('AG_AUDIT_API_QUERY_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
    checkpointKeysFile: r.string('AG_CHECKPOINT_KEYS_FILE'),
    kafkaBrokers: r.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']),
    kafkaAuth: readKafkaAuth(r),
    registryUrl: r.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
    topicPrefix: r.string('AG_TOPIC_PREFIX', 'agentgate'),
    retentionClickhouseAuth: {
      username: r.string('AG_RETENTION_CLICKHOUSE_USER', 'retention'),
      password: r.fileText('AG_RETENTION_CLICKHOUSE_PASSWORD_FILE', { required: true }),
    },
    retentionDays: r.int('AG_RETENTION_DAYS', 400, { min: MIN_RETENTION_DAYS, max: 36_500 }),
    holdProjectionWaitMs: r.int('AG_HOLD_PROJECTION_WAIT_MS', 10_000, { min: 0, max: 120_000 }),
  });
}
