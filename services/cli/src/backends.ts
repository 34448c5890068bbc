// The CLI's connections to the stack. Every failure to reach a component becomes one
// GatewayError naming that component and where it was looked for; libraries' own logging
// is silenced so the terminal shows only that message.
import { createClickHouse, type ClickHouseClient } from '@agentgate/clickhouse';
import { createEventSerde, createPolicySerde, topicNames, type AuditEvent, type PolicyPublished } from '@agentgate/events';
import { GatewayError, isGatewayError, type ErrorCode } from '@agentgate/errors';
import { createKafka, type KafkaLogSink } from '@agentgate/kafka';
import { readFileSync } from 'node:fs';
import type { CliConfig } from './config.js';

export type Component = 'ClickHouse' | 'Kafka' | 'the schema registry' | 'the development IdP';

/**
 * The socket-level reason (ECONNREFUSED, ...) of a failed request, from its cause chain (or,
 * when a library flattened the chain into its message, from the text); else the innermost message.
 */
export function reasonOf(error: unknown): string {
  let e: unknown = error;
  let innermost = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 6 && e !== null && typeof e === 'object'; depth++) {
    const { code, errors, message, name } = e as { code?: unknown; errors?: unknown; message?: unknown; name?: unknown };
    if (typeof code === 'string' && /^E[A-Z_]{3,}$/.test(code)) return code;
    if (name === 'TimeoutError') return 'timed out';
    if (typeof message === 'string' && message !== '') {
      innermost = message;
      const inText = /\b(E(?:CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN|TIMEDOUT))\b/.exec(message)?.[1];
      if (inText !== undefined) return inText;
    }
    // Happy Eyeballs reports one error per address tried.
    e = Array.isArray(errors) && errors.length > 0 ? errors[0] : (e as { cause?: unknown }).cause;
  }
  return innermost;
}

/** "<component> at <where> is unreachable (<reason>)": AG_ERR_IDP_UNAVAILABLE or AG_ERR_AUDIT_UNAVAILABLE. */
export function unavailable(component: Component, where: string, cause: unknown): GatewayError {
  const code: ErrorCode = component === 'the development IdP' ? 'AG_ERR_IDP_UNAVAILABLE' : 'AG_ERR_AUDIT_UNAVAILABLE';
  const name = component.charAt(0).toUpperCase() + component.slice(1);
  return new GatewayError(code, `${name} at ${where} is unreachable (${reasonOf(cause)})`, { cause });
}

/**
 * The server's own message when ClickHouse answered with an exception (it is up, but said no),
 * else undefined. 18.16 writes `Code: 81, e.displayText() = DB::Exception: <message>, e.what() = ...`,
 * current releases `Code: 81. DB::Exception: <message>. (TYPE)`.
 */
export function serverRefusal(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  if (!/^(Code|Error): \d+/.test(message)) return undefined;
  const text = /DB::Exception: (.*?)(?:, e\.what\(\)|\s*\([A-Z0-9_]{3,}\)|$)/s.exec(message)?.[1] ?? message;
  return text.split('\n')[0]!.trim();
}

/** A credential or CA file the stack keeps; a missing one is a configuration problem, named. */
function stackFile(path: string, what: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read ${what} at ${path} (set ${variable}, or start the stack: npm start)`, {
      cause,
    });
  }
}

/** Read-only access to the ClickHouse projection. */
export interface AuditReader {
  /** The quoted database is the caller's business (quoteIdentifier); rows come back as JSON objects. */
  rows<T>(query: string): Promise<T[]>;
  close(): Promise<void>;
}

export function openAuditReader(config: Readonly<CliConfig>): AuditReader {
  const client: ClickHouseClient = createClickHouse({
    url: config.clickhouseUrl,
    database: 'default',
    username: config.clickhouseUser,
    password: stackFile(config.clickhousePasswordFile, 'the ClickHouse reader password', 'AG_CLI_CLICKHOUSE_PASSWORD_FILE'),
    requestTimeoutMs: 15_000,
    quiet: true,
  });
  return {
    async rows<T>(query: string): Promise<T[]> {
      try {
        const result = await client.query({ query, format: 'JSONEachRow' });
        return await result.json<T>();
      } catch (cause) {
        const refusal = serverRefusal(cause);
        if (refusal !== undefined) {
          throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `ClickHouse at ${config.clickhouseUrl} refused the query: ${refusal}`, {
            cause,
          });
        }
        throw unavailable('ClickHouse', config.clickhouseUrl, cause);
      }
    },
    close: () => client.close(),
  };
}

// kafkajs logs connection errors and retries to the console by default; the CLI reports the
// one error that matters itself.
const QUIET: KafkaLogSink = { warn: () => {}, error: () => {}, debug: () => {} };

/** Publishes one admin command on the control topic (registering the schema if needed). */
export async function publishControl(config: Readonly<CliConfig>, key: string, event: AuditEvent): Promise<void> {
  const topic = topicNames(config.topicPrefix).control;
  let value: Buffer;
  try {
    const serde = await createEventSerde({ registryUrl: config.registryUrl, topics: [topic] });
    value = await serde.encode(topic, event);
  } catch (cause) {
    if (isGatewayError(cause, 'AG_ERR_EVENT_INVALID')) throw cause;
    throw unavailable('the schema registry', config.registryUrl, cause);
  }
  await sendAsOperator(config, topic, key, value);
}

/** Publishes a policy version on the policies topic (registering its schema if needed). */
export async function publishPolicy(config: Readonly<CliConfig>, key: string, publication: PolicyPublished): Promise<void> {
  const topic = topicNames(config.topicPrefix).policies;
  let value: Buffer;
  try {
    const serde = await createPolicySerde({ registryUrl: config.registryUrl, topic });
    value = await serde.encode(publication);
  } catch (cause) {
    if (isGatewayError(cause, 'AG_ERR_EVENT_INVALID')) throw cause;
    throw unavailable('the schema registry', config.registryUrl, cause);
  }
  await sendAsOperator(config, topic, key, value);
}

/** One acknowledged write as the operator principal (the only writer of control and policies). */
async function sendAsOperator(config: Readonly<CliConfig>, topic: string, key: string, value: Buffer): Promise<void> {
  const auth = {
    username: config.kafkaUsername,
    password: stackFile(config.kafkaPasswordFile, 'the Kafka operator password', 'AG_CLI_KAFKA_PASSWORD_FILE'),
    caPem: stackFile(config.kafkaCaFile, 'the CA of the Kafka broker', 'AG_KAFKA_CA_FILE'),
  };
  const kafka = createKafka({ brokers: config.kafkaBrokers, auth, clientId: 'agentgate-cli', retry: 'fast', logger: QUIET });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key, value }] });
  } catch (cause) {
    throw unavailable('Kafka', config.kafkaBrokers.join(','), cause);
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
