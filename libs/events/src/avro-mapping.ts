// Converts between the TypeScript view (types.ts) and Avro's JSON form of AuditEvent.
// avsc wraps unions of several records as `{ "agentgate.v1.Name": value }`; nullable
// unions (`["null", T]`) stay unwrapped.
import { GatewayError } from '@agentgate/errors';
import { EVENT_TYPES, type AuditEvent, type EventType, type RequestDetail } from './types.js';

const NAMESPACE = 'agentgate.v1';

const DETAIL_RECORD = { sql: 'SqlRequest', ssh: 'SshRequest', http: 'HttpRequest', mcp: 'McpRequest' } as const;
const DETAIL_KIND: Record<string, RequestDetail['kind']> = {
  SqlRequest: 'sql',
  SshRequest: 'ssh',
  HttpRequest: 'http',
  McpRequest: 'mcp',
};

/** Avro JSON form of an event: what avsc encodes and decodes. */
export type AvroEvent = Record<string, unknown> & { payload: Record<string, Record<string, unknown>> };

function wrap(name: string, value: object): Record<string, Record<string, unknown>> {
  return { [`${NAMESPACE}.${name}`]: { ...(value as Record<string, unknown>) } };
}

function unwrap(union: unknown, what: string): { name: string; value: Record<string, unknown> } {
  if (union === null || typeof union !== 'object') throw new GatewayError('AG_ERR_EVENT_INVALID', `${what} is not a wrapped union`);
  const keys = Object.keys(union);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) throw new GatewayError('AG_ERR_EVENT_INVALID', `${what} must have exactly one branch`);
  const name = key.startsWith(`${NAMESPACE}.`) ? key.slice(NAMESPACE.length + 1) : key;
  return { name, value: (union as Record<string, Record<string, unknown>>)[key] ?? {} };
}

/** The Avro JSON form of an event (everything but `hash` when `withHash` is false). */
export function toAvro(event: AuditEvent, withHash = true): AvroEvent {
  let payload: Record<string, unknown> = { ...event.payload };
  if (event.eventType === 'RequestObserved') {
    const { kind, ...detail } = event.payload.detail;
    payload = { ...event.payload, detail: wrap(DETAIL_RECORD[kind], detail) };
  }
  const avro: AvroEvent = {
    eventId: event.eventId,
    eventType: event.eventType,
    sessionId: event.sessionId,
    seq: event.seq,
    timeUs: event.timeUs,
    producer: event.producer,
    prevHash: event.prevHash,
    hash: event.hash,
    traceId: event.traceId,
    actor: event.actor,
    payload: wrap(event.eventType, payload),
  };
  if (!withHash) delete avro['hash'];
  return avro;
}

function isEventType(name: string): name is EventType {
  return (EVENT_TYPES as readonly string[]).includes(name);
}

/** The TypeScript view of a decoded Avro event. Unknown payload types are an error value for the caller. */
export function fromAvro(decoded: Record<string, unknown>): AuditEvent {
  // avsc decodes records into generated classes; the TypeScript view is plain data.
  const avro = JSON.parse(JSON.stringify(decoded)) as Record<string, unknown>;
  const { name, value } = unwrap(avro['payload'], 'payload');
  if (!isEventType(name)) throw new GatewayError('AG_ERR_EVENT_INVALID', `unknown payload type ${name}`);
  let payload: Record<string, unknown> = { ...value };
  if (name === 'RequestObserved') {
    const detail = unwrap(value['detail'], 'detail');
    const kind = DETAIL_KIND[detail.name];
    if (kind === undefined) throw new GatewayError('AG_ERR_EVENT_INVALID', `unknown request detail ${detail.name}`);
    payload = { ...value, detail: { kind, ...detail.value } };
  }
  return {
    eventId: avro['eventId'],
    eventType: name,
    sessionId: avro['sessionId'],
    seq: avro['seq'],
    timeUs: avro['timeUs'],
    producer: avro['producer'],
    prevHash: avro['prevHash'] ?? null,
    hash: avro['hash'],
    traceId: avro['traceId'] ?? null,
    actor: avro['actor'] ?? null,
    payload,
  } as unknown as AuditEvent;
}
