export { createKafka, type KafkaClientOptions, type KafkaLogSink } from './client.js';
export { ensureTopics, AUDIT_TOPIC_CONFIG, POLICY_TOPIC_CONFIG, type TopicSpec } from './topics.js';
export { withDeadline } from './deadline.js';
export { REPLY_TO_HEADER, REQUEST_ID_HEADER, headerText, routeVerdict, type VerdictRoute } from './routing-headers.js';
export { groupCommit, type GroupBatch, type GroupCommit, type GroupMessage } from './group-commit.js';
export { catchUpConsumer, type CatchUpConsumer, type CatchUpConsumerOptions } from './catch-up-consumer.js';
export { broadcastConsumer, type BroadcastConsumer, type BroadcastConsumerOptions } from './broadcast-consumer.js';
export { offsetCommitter, type OffsetCommitter, type PartitionOffset } from './offset-committer.js';
export { resilientConsumer, type ResilientConsumer, type ResilientConsumerOptions } from './resilient-consumer.js';
export {
  pipelineAcls,
  staleAcls,
  toKafkaAcls,
  PRINCIPALS,
  GROUP_PREFIXES,
  type AclGrant,
  type AclOperation,
  type AuditTopicNames,
} from './acl-plan.js';
