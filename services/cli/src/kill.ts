// `agentgate kill`: asks, through the control topic, the ingress holding a session to end
// it, then waits until the session's close is in the audit log.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { GENESIS, chainEvent, createEventSerde, topicNames, type AuditEvent } from '@agentgate/events';
import { createKafka } from '@agentgate/kafka';
import { GatewayError } from '@agentgate/errors';
import type { CliConfig } from './config.js';
import type { CommandContext } from './commands.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Publishes a SessionKillRequested and reports when the session's close is recorded. */
export async function kill(ctx: CommandContext & { config: Readonly<CliConfig> }, flags: Record<string, string>): Promise<number> {
  const target = flags['session'] ?? '';
  if (!UUID.test(target)) throw new GatewayError('AG_ERR_CONFIG_INVALID', '--session <session id> is required');
  // The local CLI is trusted as the operator's own tool; the name is recorded, not verified.
  const requestedBy = flags['as'] ?? userInfo().username;
  const reason = flags['reason'] ?? 'killed by an administrator';
  const topics = topicNames(ctx.config.topicPrefix);
  const serde = await createEventSerde({ registryUrl: ctx.config.registryUrl, topics: [topics.control] });
  const event = chainEvent(
    {
      eventId: randomUUID(),
      eventType: 'SessionKillRequested',
      sessionId: randomUUID(),
      timeUs: Date.now() * 1000,
      producer: `cli/${hostname()}/${process.pid}`,
      traceId: null,
      actor: { subject: requestedBy, issuer: 'local-cli', groups: [], actChain: [], tokenId: null, authMethod: 'none' },
      payload: { targetSessionId: target, reason, requestedBy },
    },
    GENESIS,
  ) as AuditEvent;
  const kafka = createKafka({ brokers: ctx.config.kafkaBrokers, clientId: 'agentgate-cli', retry: 'fast' });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: topics.control, acks: -1, messages: [{ key: target, value: await serde.encode(topics.control, event) }] });
  } finally {
    await producer.disconnect();
  }
  const started = Date.now();
  const db = quoteIdentifier(ctx.database);
  while (Date.now() - started < 10_000) {
    const r = await ctx.clickhouse.query({
      query: `SELECT outcome FROM ${db}.events WHERE session_id = ${quoteString(target)} AND event_type = 'SessionClosed' LIMIT 1`,
      format: 'JSONEachRow',
    });
    const [row] = await r.json<{ outcome: string }>();
    if (row) {
      ctx.out(`session ${target} closed (${row.outcome})`);
      return 0;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  ctx.out(`kill requested for ${target}; no close recorded within 10 s (no live session with that id?)`);
  return 1;
}
