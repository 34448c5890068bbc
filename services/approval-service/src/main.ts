import { setTimeout as sleep } from 'node:timers/promises';
import { createEventSerde, topicNames } from '@agentgate/events';
import { toGatewayError } from '@agentgate/errors';
import { auditActor, createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { createKafka } from '@agentgate/kafka';
import { runService } from '@agentgate/observability';
import { buildApprovalApp } from './app.js';
import { newRequests } from './approval-state.js';
import { createApprovalStore } from './approval-store.js';
import { createCommandRunner } from './commands.js';
import { loadConfig } from './config.js';
import { createKafkaLog } from './kafka-log.js';
import { createNotifier, loadChannels } from './notify/index.js';
import { requestNotice } from './request-notice.js';

const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

await runService({
  name: 'approval-service',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    const topics = topicNames(config.topicPrefix);
    const verifier = createTokenVerifier(loadTrustFile(config.identityFile));
    const notifier = createNotifier(loadChannels(config.channelsFile), { fetch, sleep: (ms) => sleep(ms), logger });
    const store = createApprovalStore();
    const kafka = createKafka({ brokers: config.kafkaBrokers, auth: config.kafkaAuth, clientId: config.serviceName, logger });
    const log = createKafkaLog({
      kafka,
      serde: await createEventSerde({ registryUrl: config.registryUrl, topics: [topics.approvals, topics.approvalDecisions] }),
      topics,
      groupPrefix: config.consumerGroupPrefix,
      instanceId: config.instanceId,
      fetchMaxWaitMs: config.kafkaFetchMaxWaitMs,
      logger: logger.child({ instance: config.instanceId }),
      onEvents(events, live) {
        // Only requests made while this instance runs are announced: a replay at start is history.
        const announce = live ? newRequests(store.state, events) : [];
        store.apply(events);
        for (const event of announce) {
          const approval = store.state.approvals.get(event.payload.approvalId);
          if (approval?.status === 'pending' && event.payload.notify.length > 0) {
            notifier.notify(requestNotice(event, config.publicUrl), event.payload.notify);
          }
        }
      },
    });
    const runner = createCommandRunner(store, (events) => log.commit(events));
    const app = await buildApprovalApp({
      store,
      runner,
      verifyToken: async (token) => auditActor(await verifier.verify(token)),
      nowUs,
      ready: () => log.caughtUp,
      publicUrl: config.publicUrl,
      logger,
    });
    await log.start();
    await app.listen({ host: config.listenHost, port: config.listenPort });

    // Expiry: one pass at a time; a pass that fails (Kafka down) is tried again on the next tick.
    let expiring = false;
    let expired = 0;
    const expiryTimer = setInterval(() => {
      if (expiring || !log.caughtUp) return;
      expiring = true;
      runner
        .expire(nowUs())
        .then((events) => {
          expired += events.length;
          if (events.length > 0) logger.info({ approvals: events.map((e) => e.sessionId) }, 'approvals expired');
        })
        .catch((err: unknown) => logger.error({ code: toGatewayError(err).code }, 'expiring approvals failed; retried next tick'))
        .finally(() => {
          expiring = false;
        });
    }, config.expiryIntervalMs);
    expiryTimer.unref();

    return {
      readiness: () => ({ ...log.readiness(), listening: app.server.listening }),
      metrics: () => {
        let pending = 0;
        for (const a of store.state.approvals.values()) if (a.request !== null && a.status === 'pending') pending++;
        return (
          log.metrics() +
          `# TYPE agentgate_approvals_pending gauge\nagentgate_approvals_pending ${pending}\n` +
          `# TYPE agentgate_approvals_expired_total counter\nagentgate_approvals_expired_total ${expired}\n`
        );
      },
      describe: () => ({ port: config.listenPort, publicUrl: config.publicUrl }),
      async stop() {
        clearInterval(expiryTimer);
        // Stop taking decisions first, then let those in flight finish their writes.
        await app.close();
        await log.stop();
        // Notifications still retrying get a moment, not their whole schedule.
        await Promise.race([notifier.idle(), sleep(2000)]);
      },
    };
  },
});
