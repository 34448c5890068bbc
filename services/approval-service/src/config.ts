import { EnvReader, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface ApprovalServiceConfig extends PipelineConfig {
  listenHost: string;
  listenPort: number;
  /** Base URL approvers reach the API at; links in views and notifications start with it. */
  publicUrl: string;
  /** Notification channels (services/approval-service/src/notify); none when unset. */
  channelsFile: string | undefined;
  /** Trusted issuers of approvers' tokens (deploy/identity.json). */
  identityFile: string;
  /** Prefix of this service's consumer groups: each start reads the log in a group of its own under it. */
  consumerGroupPrefix: string;
  /** How often pending approvals are checked for expiry. */
  expiryIntervalMs: number;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<ApprovalServiceConfig> {
  const r = new EnvReader(env);
  const channelsFile = r.string('AG_APPROVAL_CHANNELS_FILE', '');
  return r.done({
    ...readPipelineConfig(r, {
      serviceName: 'approval-service',
      adminPortVar: 'AG_APPROVAL_SERVICE_ADMIN_PORT',
      adminPort: 15484,
      processId,
    }),
    listenHost: r.string('AG_APPROVAL_SERVICE_HOST', '127.0.0.1'),
    listenPort: r.int('AG_APPROVAL_SERVICE_PORT', 18080, { min: 0, max: 65535 }),
    publicUrl: r.url('AG_PUBLIC_APPROVALS_URL', 'http://127.0.0.1:18080'),
    channelsFile: channelsFile === '' ? undefined : channelsFile,
    identityFile: r.string('AG_IDENTITY_FILE'),
    consumerGroupPrefix: r.string('AG_APPROVAL_CONSUMER_GROUP', 'agentgate-approval-service'),
    expiryIntervalMs: r.int('AG_APPROVAL_EXPIRY_INTERVAL_MS', 1000, { min: 10, max: 60_000 }),
  });
}
