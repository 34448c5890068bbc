import { hostname } from 'node:os';
import type { EnvReader } from './env-reader.js';

/** Settings every event-pipeline service shares. */
export interface PipelineConfig {
  serviceName: string;
  instanceId: string;
  kafkaBrokers: string[];
  registryUrl: string;
  topicPrefix: string;
  adminPort: number;
  logLevel: string;
}

/**
 * Reads the shared settings: AG_SERVICE_NAME, AG_INSTANCE_ID, AG_KAFKA_BROKERS,
 * AG_REGISTRY_URL, AG_TOPIC_PREFIX, the service's admin port variable and AG_LOG_LEVEL.
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
    registryUrl: r.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
    topicPrefix: r.string('AG_TOPIC_PREFIX', 'agentgate'),
    adminPort: r.int(defaults.adminPortVar, defaults.adminPort, { min: 0, max: 65535 }),
    logLevel: r.string('AG_LOG_LEVEL', 'info'),
  };
}
