// Pure mapping from a decoded audit event to its ClickHouse row. The columns split in two:
// those derived from the event (eventColumns), which the verifier recomputes from the stored
// canonical text and compares cell by cell, and those about storage (hash validity, Kafka
// position, projection time, a conflicting id), which no event text can vouch for.
import { canonicalJson, fromAvro, sha256Hex, type AuditEvent, type DecodedEvent, type PolicyPublished } from '@agentgate/events';

export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
}

export type EventRow = Record<string, string | number | string[]>;

function clickhouseDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The acting agent of an event's actor: the last entry of its delegation chain (the chain is in
 * delegation order, principal first, current actor last), or the subject without delegation.
 */
export function actingAgent(actor: NonNullable<AuditEvent['actor']>): string {
  const chain = actor.actChain;
  const current = chain.length > 1 ? chain[chain.length - 1] : undefined;
  return current?.subject ?? actor.subject;
}

function payloadColumns(event: AuditEvent): Partial<EventRow> {
  switch (event.eventType) {
    case 'SessionOpened':
      return { protocol: event.payload.protocol, connection: event.payload.connection };
    case 'RequestObserved': {
      const d = event.payload.detail;
      return {
        request_id: event.payload.requestId,
        protocol: event.payload.protocol,
        statement_kind: d.kind === 'sql' ? d.statementKind : '',
        sql_text: d.kind === 'sql' ? d.text : '',
      };
    }
    case 'VerdictIssued':
      return {
        request_id: event.payload.requestId,
        decision: event.payload.decision,
        rule_id: event.payload.ruleId ?? '',
        policy_version: event.payload.policyVersion,
        shadow: event.payload.shadow ? 1 : 0,
        error_code: event.payload.errorCode ?? '',
      };
    case 'ResponseObserved':
      return {
        request_id: event.payload.requestId,
        outcome: event.payload.outcome,
        row_count: event.payload.rowCount,
        error_code: event.payload.errorCode ?? '',
      };
    case 'SessionClosed':
      return { outcome: event.payload.reason, error_code: event.payload.errorCode ?? '' };
    case 'SessionKillRequested':
      return { request_id: event.payload.targetSessionId, outcome: event.payload.reason };
    // Approval events: the approval's chain (sessionId = approval id) or a one-event chain;
    // request_id names the request they are about, the decision or outcome goes alongside.
    case 'ApprovalRequested':
      return {
        request_id: event.payload.requestId,
        protocol: event.payload.protocol,
        connection: event.payload.connection ?? '',
        sql_text: event.payload.text,
        decision: 'pending_approval',
        rule_id: event.payload.ruleId,
        policy_version: event.payload.policyVersion,
      };
    case 'ApprovalDecided':
      return { decision: event.payload.decision };
    case 'ApprovalResolved':
      return { outcome: event.payload.outcome };
    case 'GrantUsed':
      return { request_id: event.payload.requestId, outcome: event.payload.released ? 'released' : 'used' };
    case 'BlastRadiusEstimated':
      return { request_id: event.payload.requestId, row_count: event.payload.estimatedRows ?? 0, error_code: event.payload.error ?? '' };
    // Checkpoints, legal holds and retention: their own chains; the payload stays in payload_json.
    case 'CheckpointSigned':
      return { outcome: `${event.payload.heads.length} heads` };
    case 'LegalHoldChanged':
      return { request_id: event.payload.heldSessionId, decision: event.payload.action, outcome: event.payload.reason };
    case 'RetentionApplied':
      return { decision: event.payload.action, outcome: event.payload.partition, row_count: event.payload.rows };
    // The frames stay in payload_json; request_id ties them to their shell request.
    case 'TerminalRecorded':
      return { request_id: event.payload.requestId, row_count: event.payload.frames.length };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The columns derived from an event and its canonical text: each one is checkable against the hashed text. */
export function eventColumns(event: AuditEvent, canonicalText: string): EventRow {
  // The payload exactly as its writer encoded it (wrapped union), not as this build maps it.
  const writerForm = JSON.parse(canonicalText) as { payload?: Record<string, unknown> };
  return {
    event_id: event.eventId,
    event_type: event.eventType,
    session_id: event.sessionId,
    seq: event.seq,
    time_us: event.timeUs,
    event_date: new Date(Math.floor(event.timeUs / 1000)).toISOString().slice(0, 10),
    producer: event.producer,
    prev_hash: event.prevHash ?? '',
    // The principal and the acting agent, never one column for both (see migrations.ts).
    subject: event.actor?.subject ?? '',
    actor: event.actor ? actingAgent(event.actor) : '',
    actor_issuer: event.actor?.issuer ?? '',
    actor_groups: event.actor?.groups ?? [],
    actor_chain: event.actor?.actChain.map((l) => l.subject) ?? [],
    token_id: event.actor?.tokenId ?? '',
    request_id: '',
    protocol: '',
    connection: '',
    statement_kind: '',
    sql_text: '',
    decision: '',
    rule_id: '',
    policy_version: '',
    shadow: 0,
    outcome: '',
    row_count: 0,
    error_code: '',
    ...payloadColumns(event),
    payload_json: canonicalJson(Object.values(writerForm.payload ?? {})[0] ?? {}),
  } as EventRow;
}

/** The event a stored canonical text describes (the text leaves the hash out; the row holds it). */
export function eventFromCanonicalText(canonicalText: string, hash: string): AuditEvent {
  const avro = JSON.parse(canonicalText) as Record<string, unknown>;
  return fromAvro({ ...avro, hash });
}

/** The row for one event; `hash_valid` records whether the stored text still hashes to `hash`. */
export function eventRow(decoded: DecodedEvent, position: KafkaPosition, projectedAtMs: number, idConflict = false): EventRow {
  const { event, canonicalText } = decoded;
  // The storage columns go onto the derived row in place: spreading a row of 35 columns into a
  // new object cost more than deriving it (about 17 us per event, on the projector's hot path).
  const row = eventColumns(event, canonicalText);
  row['hash'] = event.hash;
  row['hash_valid'] = sha256Hex(canonicalText) === event.hash ? 1 : 0;
  row['canonical_text'] = canonicalText;
  row['id_conflict'] = idConflict ? 1 : 0;
  row['kafka_topic'] = position.topic;
  row['kafka_partition'] = position.partition;
  row['kafka_offset'] = Number(position.offset);
  row['projected_at'] = clickhouseDateTime(projectedAtMs);
  return row;
}

/** The policy_publications row for one publication. */
export function publicationRow(p: PolicyPublished, position: KafkaPosition, projectedAtMs: number): EventRow {
  return {
    event_id: p.eventId,
    policy_name: p.policyName,
    version: p.version,
    content_hash: p.contentHash,
    shadow: p.shadow ? 1 : 0,
    published_by: p.publishedBy,
    publisher_issuer: p.publisherIssuer,
    published_at_us: p.publishedAtUs,
    producer: p.producer,
    file_names: p.files.map((f) => f.name),
    files_json: canonicalJson(p.files),
    kafka_topic: position.topic,
    kafka_partition: position.partition,
    kafka_offset: Number(position.offset),
    projected_at: clickhouseDateTime(projectedAtMs),
  };
}
