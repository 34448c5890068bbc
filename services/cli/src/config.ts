import { EnvReader, type EnvMap } from '@agentgate/config';

export interface CliConfig {
  clickhouseUrl: string;
  clickhouseDatabase: string;
}

/** Parses the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap): Readonly<CliConfig> {
  const r = new EnvReader(env);
  return r.done({
    clickhouseUrl: r.url('AG_CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
    clickhouseDatabase: r.string('AG_CLICKHOUSE_DATABASE', 'agentgate'),
  });
}
