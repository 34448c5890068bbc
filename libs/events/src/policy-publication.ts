// A published policy version: the record on the compacted policies topic
// (schemas/policy-event.avsc). It is not an audit event (no session, no chain): a policy is
// state that every processor must see whole, so the topic keeps the latest record per name.
// Avro serde through the same schema registry as the audit events.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { GatewayError } from '@agentgate/errors';
import { avroOptions } from './schema.js';
import { createRegistryClient, valueSubject } from './serde.js';

const require = createRequire(import.meta.url);

/** One file of a policy directory. */
export interface PolicyFile {
  name: string;
  text: string;
}

/** TypeScript view of schemas/policy-event.avsc. */
export interface PolicyPublished {
  eventId: string;
  policyName: string;
  /** `<policyName>@<12 hex of contentHash>`. */
  version: string;
  contentHash: string;
  files: PolicyFile[];
  shadow: boolean;
  publishedBy: string;
  publisherIssuer: string;
  publishedAtUs: number;
  producer: string;
}

/** The version string every verdict names: the policy's name and the start of its content hash. */
export function policyVersionOf(policyName: string, contentHash: string): string {
  return `${policyName}@${contentHash.slice(0, 12)}`;
}

/** The PolicyPublished schema text, read from the @agentgate/schemas package. */
export function policyEventSchemaText(): string {
  return readFileSync(require.resolve('@agentgate/schemas/policy-event.avsc'), 'utf8');
}

/** An avsc type for the PolicyPublished schema. */
export function policyEventType(schemaText = policyEventSchemaText()): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema, avroOptions());
}

/** Checks the invariants the schema cannot express; throws AG_ERR_EVENT_INVALID. */
export function validatePolicyPublished(p: PolicyPublished): PolicyPublished {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9._-]{0,99}$/i.test(p.policyName)) problems.push('policyName must be 1-100 of [A-Za-z0-9._-]');
  if (!/^[0-9a-f]{64}$/.test(p.contentHash)) problems.push('contentHash must be 64 lower-case hex digits');
  else if (p.version !== policyVersionOf(p.policyName, p.contentHash))
    problems.push('version must be <policyName>@<12 hex of contentHash>');
  if (p.files.length === 0) problems.push('a policy has at least one file');
  if (new Set(p.files.map((f) => f.name)).size !== p.files.length) problems.push('file names must be unique');
  if (p.publishedBy === '') problems.push('publishedBy is required');
  if (problems.length > 0) throw new GatewayError('AG_ERR_EVENT_INVALID', `invalid policy publication: ${problems.join('; ')}`);
  return p;
}

/** Avro binary of a publication (no registry framing); pure, for tests and the serde. */
export function encodePolicyPublished(p: PolicyPublished, type: avro.Type = policyEventType()): Buffer {
  return type.toBuffer(validatePolicyPublished(p));
}

/** The publication in an Avro value decoded with the writer's schema. */
export function fromPolicyAvro(decoded: unknown): PolicyPublished {
  // avsc decodes records into generated classes; the TypeScript view is plain data.
  const p = JSON.parse(JSON.stringify(decoded)) as PolicyPublished;
  return validatePolicyPublished(p);
}

export interface PolicySerde {
  encode(p: PolicyPublished): Promise<Buffer>;
  decode(message: Buffer): Promise<PolicyPublished>;
}

/**
 * Registers the PolicyPublished schema under `<topic>-value` (BACKWARD_TRANSITIVE) and returns a
 * serde bound to it. Fails with AG_ERR_AUDIT_UNAVAILABLE when the registry cannot be reached.
 */
export async function createPolicySerde(options: { registryUrl: string; topic: string; schemaText?: string }): Promise<PolicySerde> {
  const registry = createRegistryClient(options.registryUrl);
  let id: number;
  try {
    ({ id } = await registry.register(
      { type: SchemaType.AVRO, schema: options.schemaText ?? policyEventSchemaText() },
      { subject: valueSubject(options.topic), compatibility: COMPATIBILITY.BACKWARD_TRANSITIVE },
    ));
  } catch (cause) {
    throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `schema registration failed: ${(cause as Error).message}`, { cause });
  }
  return {
    async encode(p) {
      try {
        return await registry.encode(id, validatePolicyPublished(p));
      } catch (cause) {
        if (cause instanceof GatewayError) throw cause;
        throw new GatewayError('AG_ERR_EVENT_INVALID', `policy publication does not match the schema: ${(cause as Error).message}`, {
          cause,
        });
      }
    },
    async decode(message) {
      let value: unknown;
      try {
        value = await registry.decode(message);
      } catch (cause) {
        throw new GatewayError('AG_ERR_EVENT_INVALID', `undecodable policy publication: ${(cause as Error).message}`, { cause });
      }
      return fromPolicyAvro(value);
    },
  };
}

/**
 * The Kafka key of a publication. Live and shadow publications of one policy have keys of
 * their own, so compaction never lets a shadow trial erase the live version of the same name;
 * a tombstone (null value) on the shadow key ends the trial.
 */
export function policyKey(policyName: string, shadow: boolean): string {
  return shadow ? `${policyName}/shadow` : policyName;
}
