import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { toAvro } from './avro-mapping.js';
import { auditEventSchema, auditEventType, avroOptions } from './schema.js';
import { SKIMMED_RESPONSE_FIELDS, skimmedEventSchema, skimmingReader, visitRecords } from './skim.js';
import { sampleSession } from './test-fixtures.js';
import type { AuditEvent } from './types.js';

/** The sample session with a response that carries columns, rows, streams and a body sample. */
function session(): AuditEvent[] {
  return sampleSession().map((e) =>
    e.eventType === 'ResponseObserved'
      ? {
          ...e,
          payload: {
            ...e.payload,
            rowCount: 2,
            columns: [
              { name: 'id', typeOid: 23 },
              { name: 'card', typeOid: 25 },
            ],
            sampleRows: [
              ['1', '4111 **** **** 1111'],
              ['2', null],
            ],
            streams: [{ name: 'stdout', bytes: 3, sha256: 'ab'.repeat(32) }],
            bodySample: '{"ok":true}',
            masking: [{ key: 'column:public.customers.card', count: 1 }],
          },
        }
      : e,
  );
}

function recordFields(schema: unknown, name: string): string[] {
  let found: string[] | undefined;
  visitRecords(schema, (r) => {
    if (r.name === name) found = r.fields.map((f) => f.name);
  });
  if (!found) throw new Error(`no record ${name}`);
  return found;
}

test('the skimmed schema leaves out only the response copies, and the original schema is untouched', () => {
  const full = auditEventSchema();
  const skimmed = skimmedEventSchema(full);
  assert.deepEqual(
    recordFields(skimmed, 'ResponseObserved'),
    recordFields(full, 'ResponseObserved').filter((f) => !(SKIMMED_RESPONSE_FIELDS as readonly string[]).includes(f)),
  );
  assert.ok(recordFields(full, 'ResponseObserved').includes('sampleRows'));
  for (const other of ['RequestObserved', 'VerdictIssued', 'SessionOpened', 'SqlRequest']) {
    assert.deepEqual(recordFields(skimmed, other), recordFields(full, other), other);
  }
  assert.throws(() => skimmedEventSchema({ type: 'record', name: 'Other', fields: [] }), RangeError);
});

test('skimmed, every event reads as written but a response without its copies', () => {
  const writer = auditEventType();
  const reader = skimmingReader();
  for (const event of session()) {
    const decoded = reader.decode(writer, writer.toBuffer(toAvro(event)));
    if (event.eventType !== 'ResponseObserved') {
      assert.deepEqual(decoded, event);
      continue;
    }
    assert.deepEqual(decoded, { ...event, payload: { ...event.payload, columns: [], sampleRows: [], streams: [], bodySample: null } });
    // What the policy acts on is all there.
    assert.equal(decoded.eventType === 'ResponseObserved' && decoded.payload.rowCount, 2);
  }
});

test("skimmed decoding follows the writer's version of the schema, not the reader's", () => {
  // A later writer added a field with a default to the response, after the skimmed ones.
  const later = structuredClone(auditEventSchema());
  visitRecords(later, (r) => {
    if (r.name === 'ResponseObserved') r.fields.push({ name: 'laterField', type: 'string', default: '' });
  });
  const writer = avro.Type.forSchema(later as avro.Schema, avroOptions());
  const reader = skimmingReader();
  for (const event of session()) {
    const avroEvent = toAvro(event) as Record<string, unknown>;
    if (event.eventType === 'ResponseObserved') {
      const payload = avroEvent['payload'] as Record<string, Record<string, unknown>>;
      payload['agentgate.v1.ResponseObserved']!['laterField'] = 'x'.repeat(100);
    }
    const body = writer.toBuffer(avroEvent);
    // Twice: the second read uses the resolver kept for this writer.
    for (let i = 0; i < 2; i++) {
      const decoded = reader.decode(writer, body);
      assert.equal(decoded.eventId, event.eventId);
      assert.equal(decoded.hash, event.hash);
      if (decoded.eventType === 'ResponseObserved') assert.deepEqual(decoded.payload.sampleRows, []);
    }
  }
});
