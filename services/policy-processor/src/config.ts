import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface PolicyProcessorConfig extends PipelineConfig {
  consumerGroup: string;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<PolicyProcessorConfig> {
  const r = new EnvReader(env);
  return r.done({
    ...readPipelineConfig(r, {
      serviceName: 'policy-processor',
      adminPortVar: 'AG_POLICY_PROCESSOR_ADMIN_PORT',
      adminPort: 15481,
      processId,
    }),
    consumerGroup: r.string('AG_POLICY_CONSUMER_GROUP', 'agentgate-policy-processor'),
  });
}
