// Avro serde through a Confluent-compatible schema registry (Apicurio's ccompat API here).
// Wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.
import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import { GatewayError } from '@agentgate/errors';
import { fromAvro, toAvro } from './avro-mapping.js';
import type avro from 'avsc';
import { canonicalJson } from './canonical-json.js';
import { avroOptions, auditEventSchemaText } from './schema.js';
import { skimmingReader } from './skim.js';
import type { AuditEvent } from './types.js';

export interface EventSerdeOptions {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:18081/apis/ccompat/v7 */
  registryUrl: string;
  /** Topics whose `<topic>-value` subjects get the schema registered. */
  topics: string[];
  /** Schema text to register; the current schemas/audit-event.avsc by default. */
  schemaText?: string;
}

/** A decoded event together with the canonical text its hash covers (writer's view). */
export interface DecodedEvent {
  readonly event: AuditEvent;
  /** Computed on first access. */
  readonly canonicalText: string;
}

export interface EventSerde {
  encode(topic: string, event: AuditEvent): Promise<Buffer>;
  decode(message: Buffer): Promise<DecodedEvent>;
  /**
   * The event without the copies of what passed (skim.ts): a ResponseObserved's columns, sample
   * rows, stream digests and body sample read as empty. For consumers that act on events and
   * keep none; such an event cannot be hash-checked or written again.
   */
  decodeSkimmed(message: Buffer): Promise<AuditEvent>;
  schemaId(topic: string): number;
}

/** Subject for a topic's values (TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/** The registry client agentgate uses, with avsc options that match ours. */
export function createRegistryClient(registryUrl: string): SchemaRegistry {
  return new SchemaRegistry(
    { host: registryUrl, retry: { retries: 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 } },
    { [SchemaType.AVRO]: avroOptions() },
  );
}

/**
 * Registers the event schema for each topic with BACKWARD_TRANSITIVE compatibility and
 * returns a serde bound to the registered ids. Fails (AG_ERR_AUDIT_UNAVAILABLE) when the
 * registry cannot be reached: services refuse to start rather than run unaudited.
 */
export async function createEventSerde(options: EventSerdeOptions): Promise<EventSerde> {
  const registry = createRegistryClient(options.registryUrl);
  const schema = options.schemaText ?? auditEventSchemaText();
  const ids = new Map<string, number>();
  try {
    for (const topic of options.topics) {
      const { id } = await registry.register(
        { type: SchemaType.AVRO, schema },
        { subject: valueSubject(topic), compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE },
      );
      ids.set(topic, id);
    }
  } catch (cause) {
    throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `schema registration failed: ${(cause as Error).message}`, { cause });
  }
  const schemaId = (topic: string): number => {
    const id = ids.get(topic);
    if (id === undefined) throw new GatewayError('AG_ERR_CONFIG_INVALID', `no schema registered for topic ${topic}`);
    return id;
  };
  const skimming = skimmingReader();
  return {
    schemaId,
    async decodeSkimmed(message) {
      // Confluent wire format: magic byte 0, Int32 schema id, Avro body.
      if (message.length < 5 || message[0] !== 0)
        throw new GatewayError('AG_ERR_EVENT_INVALID', 'undecodable event: not in the registry wire format');
      let writer: avro.Type;
      try {
        writer = (await registry.getSchema(message.readInt32BE(1))) as unknown as avro.Type;
      } catch (cause) {
        throw new GatewayError('AG_ERR_EVENT_INVALID', `undecodable event: ${(cause as Error).message}`, { cause });
      }
      try {
        return skimming.decode(writer, message.subarray(5));
      } catch (cause) {
        if (cause instanceof GatewayError) throw cause;
        throw new GatewayError('AG_ERR_EVENT_INVALID', `undecodable event: ${(cause as Error).message}`, { cause });
      }
    },
    async encode(topic, event) {
      try {
        return await registry.encode(schemaId(topic), toAvro(event));
      } catch (cause) {
        throw new GatewayError('AG_ERR_EVENT_INVALID', `event does not match the schema: ${(cause as Error).message}`, { cause });
      }
    },
    async decode(message) {
      // No reader schema: decode with the writer's schema, so the canonical text is exactly
      // what the producer hashed, whatever version the reader was built with.
      let avroValue: Record<string, unknown>;
      try {
        avroValue = (await registry.decode(message)) as Record<string, unknown>;
      } catch (cause) {
        throw new GatewayError('AG_ERR_EVENT_INVALID', `undecodable event: ${(cause as Error).message}`, { cause });
      }
      // Only the projector needs the canonical text; building it for every verdict an
      // ingress skims would be work on the hot path, so it is computed on first use.
      let canonicalText: string | undefined;
      return {
        event: fromAvro(avroValue),
        get canonicalText() {
          if (canonicalText === undefined) {
            const { hash: _hash, ...unhashed } = avroValue;
            canonicalText = canonicalJson(unhashed);
          }
          return canonicalText;
        },
      };
    },
  };
}
