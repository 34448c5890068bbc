// Builds a policy processor: consumes RequestObserved events, decides each against the
// policy and produces one VerdictIssued per request. Offsets are committed only after the
// verdicts are acknowledged, so a crash re-decides rather than skips; a re-decided verdict
// is byte-identical to the first (the decider takes nothing from this instance or its clock),
// so the duplicate is harmless. The instance id goes to logs and metrics, never into events.
import type { EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { AUDIT_TOPIC_CONFIG, ensureTopics, resilientConsumer, type ResilientConsumer } from '@agentgate/kafka';
import type { AuditEvent, EventSerde, RequestDetail, TopicNames } from '@agentgate/events';
import { decide, type PolicyState } from '@agentgate/policy';
import type { AsyncSqlParser } from '@agentgate/sql';
import type { Logger } from '@agentgate/observability';
import { toGatewayError } from '@agentgate/errors';
import type { PolicyProcessorConfig } from './config.js';

export interface PolicyProcessorDeps {
  config: Readonly<PolicyProcessorConfig>;
  kafka: Kafka;
  serde: EventSerde;
  topics: TopicNames;
  parser: AsyncSqlParser;
  policy: PolicyState;
  logger: Logger;
  /** Microseconds since the epoch; only for the request-to-verdict lag in the metrics. */
  nowUs: () => number;
}

export interface PolicyProcessor {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): Record<string, boolean>;
  metrics(): string;
}

export function createPolicyProcessor(deps: PolicyProcessorDeps): PolicyProcessor {
  const { config, kafka, serde, topics, logger } = deps;
  let consumer: ResilientConsumer | undefined;
  let producer: Producer | undefined;
  let decided = 0;
  let undecodable = 0;
  // Time from a request's record to its verdict being ready to send, summed over all verdicts.
  let lagSumUs = 0;

  async function handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const verdicts: { key: string; value: Buffer }[] = [];
    let lastOffset: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      lastOffset = message.offset;
      if (message.value) {
        let event: AuditEvent | undefined;
        try {
          event = (await serde.decode(message.value)).event;
        } catch (err) {
          undecodable++;
          logger.error(
            { code: toGatewayError(err).code, partition: batch.partition, offset: message.offset },
            'skipping undecodable event',
          );
        }
        if (event?.eventType === 'RequestObserved') {
          const detail = event.payload.detail;
          const classification = await classifyRequest(deps.parser, detail);
          const out = decide({ type: 'DecideRequest', subject: { request: event, classification } }, deps.policy);
          for (const verdict of out) verdicts.push({ key: verdict.sessionId, value: await serde.encode(topics.verdicts, verdict) });
          decided += out.length;
          lagSumUs += Math.max(0, deps.nowUs() - event.timeUs) * out.length;
        }
      }
    }
    if (verdicts.length > 0) {
      await producer!.send({ topic: topics.verdicts, acks: -1, messages: verdicts });
    }
    if (lastOffset !== undefined) resolveOffset(lastOffset);
    await commitOffsetsIfNecessary();
    await heartbeat();
  }

  return {
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [
          { topic: topics.ingress, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
          { topic: topics.verdicts, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
        ]);
      } finally {
        await admin.disconnect();
      }
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      consumer = resilientConsumer({
        kafka,
        logger,
        config: { groupId: config.consumerGroup, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 },
        async setup(c) {
          await c.subscribe({ topic: topics.ingress, fromBeginning: true });
          // Partitions are decided in parallel (sessions are keyed, so each stays in order); offsets
          // are resolved only after the verdicts are acknowledged and committed every 500 ms.
          await c.run({
            autoCommit: true,
            autoCommitInterval: 500,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: 6,
            eachBatch: handleBatch,
          });
        },
      });
      await consumer.start();
    },
    async stop() {
      await consumer?.stop();
      await producer?.disconnect().catch(() => {});
    },
    readiness: () => ({ consumerJoined: consumer?.ready ?? false }),
    metrics: () =>
      `# TYPE agentgate_policy_info gauge\nagentgate_policy_info{instance=${JSON.stringify(config.instanceId)}} 1\n` +
      `# TYPE agentgate_policy_verdicts_total counter\nagentgate_policy_verdicts_total ${decided}\n` +
      `# TYPE agentgate_policy_undecodable_total counter\nagentgate_policy_undecodable_total ${undecodable}\n` +
      `# TYPE agentgate_policy_request_to_verdict_seconds summary\n` +
      `agentgate_policy_request_to_verdict_seconds_sum ${lagSumUs / 1e6}\nagentgate_policy_request_to_verdict_seconds_count ${decided}\n`,
  };
}

/**
 * The statement kinds the policy decides on. A statement longer than the audit cap is recorded
 * as a prefix with its full length and SHA-256 (fullTextBytes): the prefix cannot be parsed, so
 * the kinds the ingress read from the whole statement, recorded in the same hashed event, decide.
 */
async function classifyRequest(
  parser: AsyncSqlParser,
  detail: RequestDetail,
): Promise<{ statementKind: string; statementKinds: string[] }> {
  if (detail.kind !== 'sql') return { statementKind: 'NOT_SQL', statementKinds: [] };
  const own =
    detail.fullTextBytes !== null
      ? { statementKind: detail.statementKind, statementKinds: [...detail.statementKinds] }
      : await parser.classify(detail.text);
  // EXECUTE and FETCH are decided on what they run too: the PREPARE or DECLARE behind them.
  if (detail.resolvedText === null || detail.resolvedText === undefined) return own;
  const runs = await parser.classify(detail.resolvedText);
  return { statementKind: own.statementKind, statementKinds: [...new Set([...own.statementKinds, ...runs.statementKinds])] };
}
