// Reading events without the copies of what passed: a ResponseObserved's columns, sample rows,
// stream digests and body sample. A consumer that acts on events rather than keeps them (the
// policy processor counts rows and follows outcomes) decodes them with a reader schema that
// leaves these fields out: Avro's schema resolution skips the writer's bytes for fields the
// reader does not name, so no string is made for a sample cell. A 100-row result's response
// event is mostly its sample.
import type avro from 'avsc';
import { GatewayError } from '@agentgate/errors';
import { fromAvro } from './avro-mapping.js';
import { auditEventSchema, auditEventType } from './schema.js';
import type { AuditEvent } from './types.js';

/** The fields a skimmed ResponseObserved reads as empty. */
export const SKIMMED_RESPONSE_FIELDS = ['columns', 'sampleRows', 'streams', 'bodySample'] as const;

/** A record of an Avro schema in JSON form, as `visitRecords` hands it over (mutable). */
export interface SchemaRecord {
  type: 'record';
  name: string;
  fields: { name: string; type: unknown; default?: unknown }[];
}

/** Calls `visit` for every record defined in `schema`, nested ones included. */
export function visitRecords(schema: unknown, visit: (record: SchemaRecord) => void): void {
  if (Array.isArray(schema)) {
    for (const s of schema) visitRecords(s, visit);
    return;
  }
  if (schema === null || typeof schema !== 'object') return;
  const node = schema as { type?: unknown; name?: unknown; fields?: unknown; items?: unknown; values?: unknown };
  if (node.type === 'record' && typeof node.name === 'string' && Array.isArray(node.fields)) {
    visit(node as SchemaRecord);
    for (const f of (node as SchemaRecord).fields) visitRecords(f.type, visit);
  }
  if (typeof node.type === 'object') visitRecords(node.type, visit);
  if (node.items !== undefined) visitRecords(node.items, visit);
  if (node.values !== undefined) visitRecords(node.values, visit);
}

/** `schema` with the skimmed fields taken out of its ResponseObserved record (a copy). */
export function skimmedEventSchema(schema: Record<string, unknown> = auditEventSchema()): Record<string, unknown> {
  const copy = structuredClone(schema);
  let found = false;
  visitRecords(copy, (record) => {
    if (record.name !== 'ResponseObserved') return;
    record.fields = record.fields.filter((f) => !(SKIMMED_RESPONSE_FIELDS as readonly string[]).includes(f.name));
    found = true;
  });
  if (!found) throw new RangeError('the schema has no ResponseObserved record to skim');
  return copy;
}

/** Decodes Avro bodies of any writer's version of the schema into skimmed events. */
export interface SkimmingReader {
  /** The event `body` holds, written with `writer`; a ResponseObserved's skimmed fields read as empty. */
  decode(writer: avro.Type, body: Buffer): AuditEvent;
}

export function skimmingReader(): SkimmingReader {
  const reader = auditEventType(skimmedEventSchema());
  // One resolver per writer schema (the registry client keeps one Type per schema id).
  const resolvers = new WeakMap<avro.Type, avro.Resolver>();
  return {
    decode(writer, body) {
      let resolver = resolvers.get(writer);
      if (resolver === undefined) {
        try {
          resolver = reader.createResolver(writer);
        } catch (cause) {
          throw new GatewayError('AG_ERR_EVENT_INVALID', `the writer's schema cannot be read skimmed: ${(cause as Error).message}`, {
            cause,
          });
        }
        resolvers.set(writer, resolver);
      }
      const event = fromAvro(reader.fromBuffer(body, resolver) as Record<string, unknown>);
      if (event.eventType === 'ResponseObserved')
        Object.assign(event.payload, { columns: [], sampleRows: [], streams: [], bodySample: null });
      return event;
    },
  };
}
