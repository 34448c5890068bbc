// An ingress's connection to the audit pipeline, as every ingress opens it at start: the
// registry serde, the Kafka client (fast retries, requests bounded by the audit write budget),
// its topics ensured, the producer behind the audit sink, and the verdict feed started.
import type { Kafka, Producer } from 'kafkajs';
import type { PipelineConfig } from '@agentgate/config';
import { createEventSerde, type EventSerde, topicNames, type TopicNames, type VerdictReader, verdictTopicOf } from '@agentgate/events';
import { AUDIT_TOPIC_CONFIG, createKafka, ensureTopics } from '@agentgate/kafka';
import type { Logger } from '@agentgate/observability';
import { type KafkaAuditSink, kafkaAuditSink } from './audit-log.js';
import { type ControlFeed, kafkaControlFeed } from './control-feed.js';
import { type KafkaVerdictFeed, kafkaVerdictFeed } from './verdict-feed.js';

export interface IngressPipelineConfig extends PipelineConfig {
  /** Which ingress this is: it reads that verdict topic only (verdictTopicOf). */
  verdictReader: VerdictReader;
  auditWriteTimeoutMs: number;
  verdictGroup: string;
  verdictProducers: string[];
}

export interface IngressPipeline {
  kafka: Kafka;
  topics: TopicNames;
  serde: EventSerde;
  producer: Producer;
  sink: KafkaAuditSink;
  verdicts: KafkaVerdictFeed;
  /**
   * Starts reading the control topic (ensure it through `uses`): an administrator's kill of a
   * session this instance holds calls `kill`. Stopped with the pipeline.
   */
  startControlFeed(groupId: string, kill: (sessionId: string, message: string) => boolean): Promise<ControlFeed>;
  /** Stops the control and verdict feeds and disconnects the producer (after the server has closed). */
  stop(): Promise<void>;
}

/**
 * Opens the pipeline. `uses` names the topics beyond ingress and its verdicts the ingress reads or
 * writes (each ensured and known to the serde); `serdeOnly` those it only encodes for.
 */
export async function startIngressPipeline(
  config: Readonly<IngressPipelineConfig>,
  logger: Logger,
  uses: (topics: TopicNames) => { ensured?: string[]; serdeOnly?: string[] } = () => ({}),
): Promise<IngressPipeline> {
  const topics = topicNames(config.topicPrefix);
  const { ensured = [], serdeOnly = [] } = uses(topics);
  const verdictTopic = verdictTopicOf(topics, config.verdictReader);
  const own = [topics.ingress, verdictTopic, ...ensured];
  const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [...own, ...serdeOnly] });
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    auth: config.kafkaAuth,
    clientId: config.serviceName,
    logger,
    retry: 'fast',
    requestTimeoutMs: config.auditWriteTimeoutMs,
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    own.map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
  ).finally(() => admin.disconnect());
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const verdicts = kafkaVerdictFeed({
    kafka,
    serde,
    topic: verdictTopic,
    groupId: config.verdictGroup,
    trustedProducers: new Set(config.verdictProducers),
    logger,
    fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
    instance: config.instanceId,
  });
  await verdicts.start();
  const feeds: ControlFeed[] = [];
  return {
    kafka,
    topics,
    serde,
    producer,
    sink: kafkaAuditSink(producer, serde, config.instanceId),
    verdicts,
    async startControlFeed(groupId, kill) {
      const control = kafkaControlFeed({ kafka, serde, logger, topic: topics.control, groupId, kill });
      feeds.push(control);
      await control.start();
      return control;
    },
    async stop() {
      for (const feed of feeds) await feed.stop();
      await verdicts.stop();
      await producer.disconnect().catch(() => {});
    },
  };
}
