export * from './types.js';
export {
  topicNames,
  auditTopics,
  chainedTopics,
  verdictTopicForProtocol,
  verdictTopicOf,
  verdictTopics,
  type TopicNames,
  type VerdictReader,
} from './topics.js';
export { toAvro, fromAvro, type AvroEvent } from './avro-mapping.js';
export { canonicalJson } from './canonical-json.js';
export {
  GENESIS,
  chainEvent,
  nextLink,
  linkAfterAbandonedVerdict,
  sha256Hex,
  canonicalEventText,
  verifyChain,
  verifyStoredChain,
  type ChainLink,
  type StoredChainEntry,
  type ChainVerification,
} from './hash-chain.js';
export { auditEventSchema, auditEventSchemaText, auditEventType, avroOptions } from './schema.js';
export {
  createEventSerde,
  createRegistryClient,
  valueSubject,
  type EventSerde,
  type EventSerdeOptions,
  type DecodedEvent,
} from './serde.js';
export { sampleSession, sqlDetail } from './test-fixtures.js';
export { derivedEventId } from './ids.js';
export { checkVerdict, type VerdictCheck, type VerdictRejection } from './verdict-check.js';
export {
  createPolicySerde,
  encodePolicyPublished,
  fromPolicyAvro,
  policyEventSchemaText,
  policyEventType,
  policyKey,
  policyVersionOf,
  validatePolicyPublished,
  type PolicyFile,
  type PolicyPublished,
  type PolicySerde,
} from './policy-publication.js';
export { type ResponseFields, responseObserved } from './response.js';
