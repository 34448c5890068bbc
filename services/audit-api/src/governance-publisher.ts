// Writes governance records (legal holds, retention) to the governance topic: an idempotent
// producer, acks=all, keyed by the record's chain id, with a deadline. The caller is told the
// record is written only once Kafka acknowledged it; anything else is AG_ERR_AUDIT_UNAVAILABLE,
// and the caller does nothing it would have recorded.
import type { Kafka, Producer } from 'kafkajs';
import type { AuditEvent, EventSerde } from '@agentgate/events';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { withDeadline } from '@agentgate/kafka';
import type { Logger } from '@agentgate/observability';

const WRITE_DEADLINE_MS = 10_000;

export interface GovernancePublisherDeps {
  kafka: Kafka;
  serde: EventSerde;
  /** topicNames(prefix).governance: only the audit-api principal may write it. */
  topic: string;
  logger: Logger;
  writeDeadlineMs?: number;
}

export interface GovernancePublisher {
  start(): Promise<void>;
  publish(event: AuditEvent): Promise<void>;
  readonly connected: boolean;
  metrics(): string;
  stop(): Promise<void>;
}

export function createGovernancePublisher(deps: GovernancePublisherDeps): GovernancePublisher {
  let producer: Producer | undefined;
  let connected = false;
  let written = 0;
  let failures = 0;
  return {
    async start() {
      producer = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      connected = true;
    },
    async publish(event) {
      if (!producer || !connected) throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the governance producer is not connected');
      try {
        const value = await deps.serde.encode(deps.topic, event);
        await withDeadline(
          producer.send({ topic: deps.topic, acks: -1, messages: [{ key: event.sessionId, value }] }),
          deps.writeDeadlineMs ?? WRITE_DEADLINE_MS,
          'AG_ERR_AUDIT_UNAVAILABLE',
          'governance record write',
        );
        written++;
      } catch (err) {
        failures++;
        deps.logger.error(
          { code: toGatewayError(err, 'AG_ERR_AUDIT_UNAVAILABLE').code, eventType: event.eventType },
          'governance record write failed',
        );
        throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'the record could not be written to the audit log', { cause: err });
      }
    },
    get connected() {
      return connected;
    },
    metrics: () =>
      `# TYPE agentgate_audit_api_governance_written_total counter\nagentgate_audit_api_governance_written_total ${written}\n` +
      `# TYPE agentgate_audit_api_governance_write_failures_total counter\nagentgate_audit_api_governance_write_failures_total ${failures}\n`,
    async stop() {
      connected = false;
      await producer?.disconnect().catch(() => {});
    },
  };
}
