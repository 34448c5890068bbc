// Creates the audit topics (and the compacted policies topic) and grants each service principal only what it needs
// (libs/kafka acl-plan). Idempotent; run as the Kafka admin by deploy/local/stack.sh after
// the broker is ready, and by docker-compose's kafka-setup service.
//   AG_KAFKA_BROKERS, AG_KAFKA_USERNAME (admin), AG_KAFKA_PASSWORD_FILE, AG_KAFKA_CA_FILE, AG_TOPIC_PREFIX
import { EnvReader, readKafkaAuth } from '@agentgate/config';
import { auditTopics, topicNames } from '@agentgate/events';
import kafkajs from 'kafkajs';
import { AUDIT_TOPIC_CONFIG, POLICY_TOPIC_CONFIG, createKafka, ensureTopics, pipelineAcls, staleAcls, toKafkaAcls } from '@agentgate/kafka';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const r = new EnvReader(process.env);
const brokers = r.list('AG_KAFKA_BROKERS', ['127.0.0.1:19092']);
const prefix = r.string('AG_TOPIC_PREFIX', 'agentgate');
const auth = readKafkaAuth(r);
r.done({});
if (!auth) {
  console.error('kafka-setup: AG_KAFKA_USERNAME, AG_KAFKA_PASSWORD_FILE and AG_KAFKA_CA_FILE are required');
  process.exit(2);
}
const topics = topicNames(prefix);
const admin = createKafka({ brokers, auth, clientId: 'agentgate-setup', retry: 'fast' }).admin();
await admin.connect();
try {
  const created = await ensureTopics(admin, [
    ...auditTopics(topics).map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
    // Keyed by policy name and compacted: the latest publication of each policy is kept forever.
    { topic: topics.policies, numPartitions: 1, configs: POLICY_TOPIC_CONFIG },
  ]);
  const acls = toKafkaAcls(pipelineAcls(topics));
  await admin.createAcls({ acl: acls });
  // Grants an earlier version made and this one does not: the plan is all that is allowed.
  const { resources } = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  });
  const stale = staleAcls(resources, acls);
  if (stale.length > 0) await admin.deleteAcls({ filters: stale });
  console.log(`kafka-setup: ${created.length} topic(s) created, ${acls.length} ACL entries in place, ${stale.length} stale removed`);
} finally {
  await admin.disconnect();
}
