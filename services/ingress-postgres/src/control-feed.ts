// Admin commands for live sessions (the control topic): each ingress instance reads every
// command from now on and applies those aimed at sessions it holds.
import type { Consumer, Kafka } from 'kafkajs';
import type { AuditEventOf, EventSerde } from '@agentgate/events';
import type { Logger } from '@agentgate/observability';

export interface ControlFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly ready: boolean;
}

export function kafkaControlFeed(options: {
  kafka: Kafka;
  serde: EventSerde;
  topic: string;
  groupId: string;
  logger: Logger;
  onKill: (command: AuditEventOf<'SessionKillRequested'>) => void;
}): ControlFeed {
  let consumer: Consumer | undefined;
  let joined = false;
  return {
    get ready() {
      return joined;
    },
    async start() {
      consumer = options.kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
      const joinedOnce = new Promise<void>((resolve) => {
        consumer!.on(consumer!.events.GROUP_JOIN, () => {
          joined = true;
          resolve();
        });
      });
      consumer.on(consumer.events.CRASH, (e) => {
        joined = false;
        options.logger.error({ err: e.payload.error.message, restart: e.payload.restart }, 'control consumer crashed');
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: true,
        eachMessage: async ({ message }) => {
          if (!message.value) return;
          try {
            const { event } = await options.serde.decode(message.value);
            if (event.eventType === 'SessionKillRequested') options.onKill(event);
          } catch (err) {
            options.logger.error({ code: (err as { code?: string }).code, offset: message.offset }, 'undecodable control command');
          }
        },
      });
      await joinedOnce;
    },
    async stop() {
      await consumer?.disconnect().catch(() => {});
    },
  };
}
