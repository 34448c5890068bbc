import { EnvReader, readClickHouseAuth, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface ProjectorConfig extends PipelineConfig {
  consumerGroup: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  clickhouseAuth: { username: string; password: string };
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<ProjectorConfig> {
  const r = new EnvReader(env);
  return r.done({
    ...readPipelineConfig(r, { serviceName: 'projector', adminPortVar: 'AG_PROJECTOR_ADMIN_PORT', adminPort: 15482, processId }),
    consumerGroup: r.string('AG_PROJECTOR_CONSUMER_GROUP', 'agentgate-projector'),
    clickhouseUrl: r.url('AG_CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
    clickhouseDatabase: r.string('AG_CLICKHOUSE_DATABASE', 'agentgate'),
    clickhouseAuth: readClickHouseAuth(r),
  });
}
