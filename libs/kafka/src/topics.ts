import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'delete', 'retention.ms': '-1' }. */
  configs?: Record<string, string>;
}

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin
    .createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.numPartitions,
        replicationFactor: -1,
        configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
    })
    .catch((err: { type?: string }) => {
      // Another service may have created it between list and create.
      if (err.type !== 'TOPIC_ALREADY_EXISTS') throw err;
    });
  return missing.map((s) => s.topic);
}

/** Audit topics keep everything: the log is the system of record. */
export const AUDIT_TOPIC_CONFIG: Record<string, string> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'min.insync.replicas': '1',
};

/**
 * The policies topic: compacted, so the latest publication of each policy (the key) is kept
 * for good and a processor starting from the beginning reads every policy in force. One
 * partition keeps publications in the order they were made.
 */
export const POLICY_TOPIC_CONFIG: Record<string, string> = {
  'cleanup.policy': 'compact',
  'min.insync.replicas': '1',
};
