import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface PolicyProcessorConfig extends PipelineConfig {
  consumerGroup: string;
  /** Threads analysing SSH exec commands off the event loop (libs/shell's pool). */
  shellAnalyserWorkers: number;
  /** Longest one command's analysis may take; past it the request is denied (analysis-timeout). */
  shellAnalyserTimeoutMs: number;
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
    // Two, so that one is always free for short commands while a long one is analysed.
    shellAnalyserWorkers: r.int('AG_SHELL_ANALYSER_WORKERS', 2, { min: 1, max: 16 }),
    // A 4 KiB command takes 90-400 ms; well under the ingress's 4 s verdict budget, so the
    // agent is told why (a deny naming the reason) rather than timing out.
    shellAnalyserTimeoutMs: r.int('AG_SHELL_ANALYSER_TIMEOUT_MS', 2000, { min: 100, max: 60_000 }),
  });
}
