// Against the real Apicurio Registry (ccompat API): registration under BACKWARD_TRANSITIVE,
// round trips, and evolution: events written with the first schema version still decode
// after a field is added, while an incompatible change is refused by the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { auditEventSchema, createEventSerde, createRegistryClient, fromAvro, sampleSession, valueSubject, verifyChain } from './index.js';

const registryUrl = process.env['AG_REGISTRY_URL'] ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const topic = `it-${randomUUID().slice(0, 8)}.ingress.v1`;

test('the schema registers with BACKWARD_TRANSITIVE and events round-trip with their hash chain', async () => {
  const serde = await createEventSerde({ registryUrl, topics: [topic] });
  const config = (await (await fetch(`${registryUrl}/config/${encodeURIComponent(valueSubject(topic))}`)).json()) as {
    compatibilityLevel: string;
  };
  assert.equal(config.compatibilityLevel, 'BACKWARD_TRANSITIVE');
  const decoded = [];
  for (const event of sampleSession()) {
    const bytes = await serde.encode(topic, event);
    assert.equal(bytes[0], 0, 'Confluent wire format: magic byte 0');
    assert.equal(bytes.readInt32BE(1), serde.schemaId(topic));
    const d = await serde.decode(bytes);
    assert.deepEqual(d.event, event);
    decoded.push(d.event);
  }
  assert.deepEqual(verifyChain(decoded), { ok: true, length: 5 });
});

test('v1 events still decode after v2 adds a field; an incompatible v3 is refused', async () => {
  const evoTopic = `it-${randomUUID().slice(0, 8)}.evolution.v1`;
  const v1 = auditEventSchema();
  const serdeV1 = await createEventSerde({ registryUrl, topics: [evoTopic], schemaText: JSON.stringify(v1) });
  const written = await Promise.all(sampleSession().map((e) => serdeV1.encode(evoTopic, e)));

  const v2 = structuredClone(v1) as { fields: Array<Record<string, unknown>> };
  v2.fields.push({ name: 'tenant', type: ['null', 'string'], default: null });
  const serdeV2 = await createEventSerde({ registryUrl, topics: [evoTopic], schemaText: JSON.stringify(v2) });
  assert.notEqual(serdeV2.schemaId(evoTopic), serdeV1.schemaId(evoTopic));

  // A reader built for v2 decodes v1 bytes: writer schema from the registry, resolved to v2.
  const registry = createRegistryClient(registryUrl);
  for (const [i, bytes] of written.entries()) {
    const asV2 = (await registry.decode(bytes, { [SchemaType.AVRO]: { readerSchema: v2 as never } })) as Record<string, unknown>;
    assert.equal(asV2['tenant'], null);
    assert.deepEqual(fromAvro(asV2), sampleSession()[i]);
  }

  const v3 = structuredClone(v2) as { fields: Array<Record<string, unknown>> };
  v3.fields.push({ name: 'mandatory', type: 'string' });
  await assert.rejects(
    createEventSerde({ registryUrl, topics: [evoTopic], schemaText: JSON.stringify(v3) }),
    (e: { code?: string }) => e.code === 'AG_ERR_AUDIT_UNAVAILABLE',
  );
});
