import { EnvReader, type EnvMap } from '@agentgate/config';

export interface CliConfig {
  clickhouseUrl: string;
  clickhouseDatabase: string;
  kafkaBrokers: string[];
  registryUrl: string;
  topicPrefix: string;
}

/** Parses the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap): Readonly<CliConfig> {
  const r = new EnvReader(env);
  return r.done({
    clickhouseUrl: r.url('AG_CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
    clickhouseDatabase: r.string('AG_CLICKHOUSE_DATABASE', 'agentgate'),
    kafkaBrokers: r.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']),
    registryUrl: r.url('AG_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
    topicPrefix: r.string('AG_TOPIC_PREFIX', 'agentgate'),
  });
}
