import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import avro from 'avsc';

const require = createRequire(import.meta.url);

/** The AuditEvent schema text, read from the @agentgate/schemas package. */
export function auditEventSchemaText(): string {
  return readFileSync(require.resolve('@agentgate/schemas/audit-event.avsc'), 'utf8');
}

/** The parsed AuditEvent schema as a plain object. */
export function auditEventSchema(): Record<string, unknown> {
  return JSON.parse(auditEventSchemaText()) as Record<string, unknown>;
}

/** avsc options shared by every encoder and decoder of agentgate events (fresh: avsc mutates them). */
export function avroOptions(): { wrapUnions: 'auto' } {
  return { wrapUnions: 'auto' };
}

/** An avsc type for the AuditEvent schema (or a given version of it). */
export function auditEventType(schema: Record<string, unknown> = auditEventSchema()): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, avroOptions());
}
