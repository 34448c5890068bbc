import { hostname } from 'node:os';
import type { EnvReader } from './env-reader.js';

/** How a service authenticates to Kafka: SCRAM-SHA-512 over TLS verified against `caPem`. */
export interface KafkaAuth {
  username: string;
  password: string;
  caPem: string;
}

/** Settings every event-pipeline service shares. */
export interface PipelineConfig {
  serviceName: string;
  instanceId: string;
  kafkaBrokers: string[];
  /** SASL/SCRAM credentials and the CA the broker's TLS certificate is checked against; null = PLAINTEXT (tests of the client only). */
  kafkaAuth: KafkaAuth | null;
  /**
   * How long a fetch of the latency-critical consumers (requests in the processor, verdicts in
   * the ingress) may wait at the broker for data. Measured: kafkajs's round trip grows with it
   * (p50 2.9 ms at 1 ms, 9.8 ms at 100 ms), while an idle consumer fetches 1000/max-wait times a second.
   */
  kafkaFetchMaxWaitMs: number;
  registryUrl: string;
  topicPrefix: string;
  adminPort: number;
  logLevel: string;
}

/**
 * Reads the shared settings: AG_SERVICE_NAME, AG_INSTANCE_ID, AG_KAFKA_BROKERS, the Kafka
 * credentials (see readKafkaAuth), AG_REGISTRY_URL, AG_TOPIC_PREFIX, the service's admin port variable and AG_LOG_LEVEL.
 */
export function readPipelineConfig(
  r: EnvReader,
  defaults: { serviceName: string; adminPortVar: string; adminPort: number; processId: number },
): PipelineConfig {
  const serviceName = r.string('AG_SERVICE_NAME', defaults.serviceName);
  return {
    serviceName,
    instanceId: r.string('AG_INSTANCE_ID', `${serviceName}/${hostname()}/${defaults.processId}`),
    kafkaBrokers: r.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']),
    kafkaAuth: readKafkaAuth(r),
    kafkaFetchMaxWaitMs: r.int('AG_KAFKA_FETCH_MAX_WAIT_MS', 100, { min: 1, max: 10_000 }),
    registryUrl: r.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
    topicPrefix: r.string('AG_TOPIC_PREFIX', 'agentgate'),
    adminPort: r.int(defaults.adminPortVar, defaults.adminPort, { min: 0, max: 65535 }),
    logLevel: r.string('AG_LOG_LEVEL', 'info'),
  };
}

/**
 * AG_KAFKA_USERNAME, AG_KAFKA_PASSWORD_FILE and AG_KAFKA_CA_FILE: all three or none. None
 * means PLAINTEXT, which the local stack and docker-compose never run.
 */
export function readKafkaAuth(r: EnvReader): KafkaAuth | null {
  const username = r.string('AG_KAFKA_USERNAME', '');
  const password = r.fileText('AG_KAFKA_PASSWORD_FILE');
  const caPem = r.fileText('AG_KAFKA_CA_FILE');
  const given = [username, password, caPem].filter((v) => v !== '').length;
  if (given === 0) return null;
  if (given < 3) {
    r.problem('AG_KAFKA_USERNAME, AG_KAFKA_PASSWORD_FILE and AG_KAFKA_CA_FILE go together (SCRAM over TLS)');
    return null;
  }
  return { username, password, caPem };
}

/** A ClickHouse login: AG_CLICKHOUSE_USER (default `default`) and AG_CLICKHOUSE_PASSWORD_FILE. */
export function readClickHouseAuth(r: EnvReader): { username: string; password: string } {
  return { username: r.string('AG_CLICKHOUSE_USER', 'default'), password: r.fileText('AG_CLICKHOUSE_PASSWORD_FILE') };
}
