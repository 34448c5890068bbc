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

/** `schema` with the skimmed fields taken out of its ResponseObserved record (a copy). */
export function skimmedEventSchema(schema: Record<string, unknown> = auditEventSchema()): Record<string, unknown> {
  const copy = structuredClone(schema);
  let found = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as { type?: unknown; name?: unknown; fields?: { name: string; type: unknown }[]; items?: unknown };
    if (record.type === 'record' && record.name === 'ResponseObserved' && Array.isArray(record.fields)) {
      record.fields = record.fields.filter((f) => !(SKIMMED_RESPONSE_FIELDS as readonly string[]).includes(f.name));
      found = true;
    }
    for (const f of record.fields ?? []) visit(f.type);
    if (typeof record.type === 'object') visit(record.type);
    if (record.items !== undefined) visit(record.items);
  };
  visit(copy);
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
