import { hostname } from 'node:os';
import { EnvReader, type EnvMap } from '@agentgate/config';

export interface PolicyProcessorConfig {
  serviceName: string;
  instanceId: string;
  kafkaBrokers: string[];
  registryUrl: string;
  topicPrefix: string;
  consumerGroup: string;
  adminPort: number;
  logLevel: string;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap): Readonly<PolicyProcessorConfig> {
  const r = new EnvReader(env);
  const serviceName = r.string('AG_SERVICE_NAME', 'policy-processor');
  return r.done({
    serviceName,
    instanceId: r.string('AG_INSTANCE_ID', `${serviceName}/${hostname()}/${process.pid}`),
    kafkaBrokers: r.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']),
    registryUrl: r.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
    topicPrefix: r.string('AG_TOPIC_PREFIX', 'agentgate'),
    consumerGroup: r.string('AG_POLICY_CONSUMER_GROUP', 'agentgate-policy-processor'),
    adminPort: r.int('AG_POLICY_PROCESSOR_ADMIN_PORT', 15481, { min: 0, max: 65535 }),
    logLevel: r.string('AG_LOG_LEVEL', 'info'),
  });
}
