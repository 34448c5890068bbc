// Admin commands for live sessions (the control topic): each ingress instance reads every
// command from now on and applies those aimed at sessions it holds.
import type { Kafka } from 'kafkajs';
import { broadcastConsumer, type BroadcastConsumer } from '@agentgate/kafka';
import type { EventSerde } from '@agentgate/events';
import type { Logger } from '@agentgate/observability';

export type ControlFeed = BroadcastConsumer;

export function kafkaControlFeed(options: {
  kafka: Kafka;
  serde: EventSerde;
  topic: string;
  groupId: string;
  logger: Logger;
  /** Ends a live session this instance holds, telling the agent `message`; false when it holds none. */
  kill: (sessionId: string, message: string) => boolean;
}): ControlFeed {
  return broadcastConsumer({
    kafka: options.kafka,
    topic: options.topic,
    groupId: options.groupId,
    logger: options.logger,
    async onMessage(value, offset) {
      try {
        const { event } = await options.serde.decode(value);
        if (event.eventType === 'SessionKillRequested') {
          const { targetSessionId, requestedBy, reason } = event.payload;
          if (options.kill(targetSessionId, `session ended by ${requestedBy}: ${reason}`)) {
            options.logger.info({ sessionId: targetSessionId, requestedBy }, 'session killed on request');
          }
        }
      } catch (err) {
        options.logger.error({ code: (err as { code?: string }).code, offset }, 'undecodable control command');
      }
    },
  });
}
