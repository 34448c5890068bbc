// Projections of the audit log: one table of aggregate states per question the SOC asks
// (sessions, requests, approvals, policy versions, masking exposure), each filled by a
// materialized view on every insert into `events` (or `policy_publications`), and read through
// a plain view that merges the states. Nothing here is written by hand: every projected column is
// an aggregate of columns of `events`, and those are checked against each event's hashed text by
// `agentgate verify`, which also recomputes these views from `events` and compares.
//
// ClickHouse 18.16 and current releases both run this: AggregatingMergeTree with -State/-Merge
// combinators, ARRAY JOIN of two parallel arrays (18.16 has no arrayZip), no JSONExtract.
// A materialized view follows its source table by name at creation: create them after the
// source has its final name (see migrations.ts, version 2 renames `events`).
import { quoteIdentifier } from '@agentgate/clickhouse';

/** One projection: its state table, the view that fills it, and the view that reads it. */
export interface Projection {
  name: string;
  /** The statements that create it, in order (state table, filling view, reading view). */
  create: string[];
  /** Fills the state table from what its source already holds (for a database that had rows before it). */
  backfill: string;
  /** Drops it, reading view first. */
  drop: string[];
}

const REQUEST_TYPES = `('RequestObserved', 'VerdictIssued', 'ResponseObserved', 'ApprovalRequested')`;
const APPROVAL_TYPES = `('ApprovalRequested', 'ApprovalDecided', 'ApprovalResolved', 'GrantUsed')`;

interface Spec {
  name: string;
  source: 'events' | 'policy_publications';
  /** Key columns: plain values, grouped by. */
  keys: { name: string; type: string; expr: string }[];
  /** Aggregates: state type, the -State expression that fills it, the -Merge expression that reads it. */
  aggregates: { name: string; type: string; state: string; merge: string }[];
  /** What the filling view reads: extra clauses after FROM (ARRAY JOIN, WHERE). */
  from: string;
  orderBy: string;
  /** Read-side: extra columns computed over the merged ones. */
  derived?: string[];
}

/**
 * An aggregate: its state column is `<name>_agg`, since ClickHouse aliases are global in a query
 * and a state named like a source column (`decision`) would shadow it in the next aggregate.
 */
function agg(name: string, fn: string, types: string, args: string): Spec['aggregates'][number] {
  const column = `${name}_agg`;
  return {
    name: column,
    type: types === '' ? `AggregateFunction(${fn})` : `AggregateFunction(${fn}, ${types})`,
    state: `${fn}State(${args}) AS ${column}`,
    merge: `${fn}Merge(${column}) AS ${name}`,
  };
}

const SPECS: Spec[] = [
  {
    name: 'sessions',
    source: 'events',
    keys: [
      { name: 'session_id', type: 'String', expr: 'session_id' },
      { name: 'month', type: 'UInt32', expr: 'toYYYYMM(event_date)' },
    ],
    aggregates: [
      agg('opened_us', 'min', 'UInt64', 'time_us'),
      agg('last_us', 'max', 'UInt64', 'time_us'),
      agg('subject', 'anyIf', 'String, UInt8', "subject, event_type = 'SessionOpened'"),
      agg('actor', 'anyIf', 'String, UInt8', "actor, event_type = 'SessionOpened'"),
      agg('actor_chain', 'anyIf', 'Array(String), UInt8', "actor_chain, event_type = 'SessionOpened'"),
      agg('protocol', 'anyIf', 'String, UInt8', "protocol, event_type = 'SessionOpened'"),
      agg('connection', 'anyIf', 'String, UInt8', "connection, event_type = 'SessionOpened'"),
      agg('closed', 'max', 'UInt8', "event_type = 'SessionClosed'"),
      agg('close_reason', 'anyIf', 'String, UInt8', "outcome, event_type = 'SessionClosed'"),
      agg('events', 'count', '', ''),
      agg('requests', 'countIf', 'UInt8', "event_type = 'RequestObserved'"),
      agg('denied', 'countIf', 'UInt8', "event_type = 'VerdictIssued' AND shadow = 0 AND decision = 'deny'"),
      agg('head_seq', 'maxIf', 'UInt64, UInt8', 'seq, shadow = 0'),
      agg('head_hash', 'argMaxIf', 'String, UInt64, UInt8', 'hash, seq, shadow = 0'),
    ],
    from: '',
    orderBy: 'session_id',
  },
  {
    name: 'requests',
    source: 'events',
    keys: [
      { name: 'request_id', type: 'String', expr: 'request_id' },
      { name: 'month', type: 'UInt32', expr: 'toYYYYMM(event_date)' },
    ],
    aggregates: [
      agg('session_id', 'anyIf', 'String, UInt8', "session_id, event_type = 'RequestObserved'"),
      agg('requested_us', 'minIf', 'UInt64, UInt8', "time_us, event_type = 'RequestObserved'"),
      agg('subject', 'anyIf', 'String, UInt8', "subject, event_type = 'RequestObserved'"),
      agg('actor', 'anyIf', 'String, UInt8', "actor, event_type = 'RequestObserved'"),
      agg('protocol', 'anyIf', 'String, UInt8', "protocol, event_type = 'RequestObserved'"),
      // The request names its connection in its payload (the column holds it on SessionOpened only).
      agg('connection', 'anyIf', 'String, UInt8', "visitParamExtractString(payload_json, 'connection'), event_type = 'RequestObserved'"),
      agg('statement_kind', 'anyIf', 'String, UInt8', "statement_kind, event_type = 'RequestObserved'"),
      agg('sql_text', 'anyIf', 'String, UInt8', "sql_text, event_type = 'RequestObserved'"),
      agg('decision', 'argMaxIf', 'String, UInt64, UInt8', "decision, time_us, event_type = 'VerdictIssued' AND shadow = 0"),
      agg('rule_id', 'argMaxIf', 'String, UInt64, UInt8', "rule_id, time_us, event_type = 'VerdictIssued' AND shadow = 0"),
      agg('policy_version', 'argMaxIf', 'String, UInt64, UInt8', "policy_version, time_us, event_type = 'VerdictIssued' AND shadow = 0"),
      agg('shadow_decision', 'argMaxIf', 'String, UInt64, UInt8', "decision, time_us, event_type = 'VerdictIssued' AND shadow = 1"),
      agg('approval_id', 'anyIf', 'String, UInt8', "visitParamExtractString(payload_json, 'approvalId'), event_type = 'ApprovalRequested'"),
      agg('outcome', 'argMaxIf', 'String, UInt64, UInt8', "outcome, time_us, event_type = 'ResponseObserved'"),
      agg('row_count', 'argMaxIf', 'UInt64, UInt64, UInt8', "row_count, time_us, event_type = 'ResponseObserved'"),
      agg('error_code', 'argMaxIf', 'String, UInt64, UInt8', "error_code, time_us, event_type = 'ResponseObserved'"),
      agg('responded_us', 'maxIf', 'UInt64, UInt8', "time_us, event_type = 'ResponseObserved'"),
    ],
    from: `WHERE request_id != '' AND event_type IN ${REQUEST_TYPES}`,
    orderBy: 'request_id',
    derived: ['if(responded_us >= requested_us AND requested_us > 0, responded_us - requested_us, 0) AS duration_us'],
  },
  {
    name: 'approvals',
    source: 'events',
    keys: [
      { name: 'approval_id', type: 'String', expr: "visitParamExtractString(payload_json, 'approvalId')" },
      { name: 'month', type: 'UInt32', expr: 'toYYYYMM(event_date)' },
    ],
    aggregates: [
      agg('request_id', 'anyIf', 'String, UInt8', "request_id, event_type = 'ApprovalRequested'"),
      agg('requested_us', 'minIf', 'UInt64, UInt8', "time_us, event_type = 'ApprovalRequested'"),
      agg('requested_by', 'anyIf', 'String, UInt8', "actor, event_type = 'ApprovalRequested'"),
      agg('connection', 'anyIf', 'String, UInt8', "connection, event_type = 'ApprovalRequested'"),
      agg('sql_text', 'anyIf', 'String, UInt8', "sql_text, event_type = 'ApprovalRequested'"),
      agg('rule_id', 'anyIf', 'String, UInt8', "rule_id, event_type = 'ApprovalRequested'"),
      agg('approvers', 'groupUniqArrayIf', 'String, UInt8', "actor, event_type = 'ApprovalDecided'"),
      agg('decisions', 'countIf', 'UInt8', "event_type = 'ApprovalDecided'"),
      agg('outcome', 'argMaxIf', 'String, UInt64, UInt8', "outcome, time_us, event_type = 'ApprovalResolved'"),
      agg('resolved_us', 'maxIf', 'UInt64, UInt8', "time_us, event_type = 'ApprovalResolved'"),
      agg('grant_uses', 'countIf', 'UInt8', "event_type = 'GrantUsed' AND outcome = 'used'"),
    ],
    from: `WHERE event_type IN ${APPROVAL_TYPES} AND visitParamExtractString(payload_json, 'approvalId') != ''`,
    orderBy: 'approval_id',
  },
  {
    name: 'policy_versions',
    source: 'policy_publications',
    keys: [
      { name: 'policy_name', type: 'String', expr: 'policy_name' },
      { name: 'version', type: 'String', expr: 'version' },
      { name: 'month', type: 'UInt32', expr: 'toYYYYMM(toDate(intDiv(published_at_us, 1000000)))' },
    ],
    aggregates: [
      agg('first_published_us', 'min', 'UInt64', 'published_at_us'),
      agg('last_published_us', 'max', 'UInt64', 'published_at_us'),
      agg('content_hash', 'any', 'String', 'content_hash'),
      agg('published_by', 'groupUniqArray', 'String', 'published_by'),
      agg('publications', 'count', '', ''),
      agg('live', 'max', 'UInt8', 'shadow = 0'),
      agg('shadow', 'max', 'UInt8', 'shadow'),
    ],
    from: '',
    orderBy: '(policy_name, version)',
  },
  {
    name: 'masking_exposure',
    source: 'events',
    keys: [
      { name: 'month', type: 'UInt32', expr: 'toYYYYMM(event_date)' },
      { name: 'session_id', type: 'String', expr: 'session_id' },
      { name: 'actor', type: 'String', expr: 'actor' },
      { name: 'masked_by', type: 'String', expr: 'masked_key' },
    ],
    aggregates: [agg('cells', 'sum', 'UInt64', 'toUInt64(masked_count)'), agg('responses', 'count', '', '')],
    // The counts sit in the payload as [{"count":n,"key":"column:<label>"|"detector:<name>"}, ...]
    // (canonical JSON: keys sorted), so two extractions give parallel arrays.
    from:
      'ARRAY JOIN extractAll(visitParamExtractRaw(payload_json, \'masking\'), \'"key":"([^"]+)"\') AS masked_key, ' +
      "extractAll(visitParamExtractRaw(payload_json, 'masking'), '\"count\":([0-9]+)') AS masked_count " +
      "WHERE event_type = 'ResponseObserved'",
    orderBy: '(session_id, actor, masked_by)',
  },
];

function projection(database: string, spec: Spec): Projection {
  const db = quoteIdentifier(database);
  const state = `${db}.${quoteIdentifier(`${spec.name}_state`)}`;
  const filler = `${db}.${quoteIdentifier(`${spec.name}_mv`)}`;
  const reader = `${db}.${quoteIdentifier(spec.name)}`;
  const source = `${db}.${quoteIdentifier(spec.source)}`;
  const keyNames = spec.keys.map((k) => k.name);
  const select =
    `SELECT ${[...spec.keys.map((k) => `${k.expr} AS ${k.name}`), ...spec.aggregates.map((a) => a.state)].join(', ')} ` +
    `FROM ${source} ${spec.from} GROUP BY ${keyNames.join(', ')}`;
  // The month key partitions the state; the reading view merges across months.
  const readKeys = keyNames.filter((k) => k !== 'month');
  const merged = `SELECT ${[...readKeys, ...spec.aggregates.map((a) => a.merge)].join(', ')} FROM ${state} GROUP BY ${readKeys.join(', ')}`;
  const readView = spec.derived === undefined ? merged : `SELECT *, ${spec.derived.join(', ')} FROM (${merged})`;
  return {
    name: spec.name,
    create: [
      `CREATE TABLE ${state} (${[...spec.keys.map((k) => `${k.name} ${k.type}`), ...spec.aggregates.map((a) => `${a.name} ${a.type}`)].join(', ')}) ` +
        `ENGINE = AggregatingMergeTree() PARTITION BY month ORDER BY ${spec.orderBy}`,
      `CREATE MATERIALIZED VIEW ${filler} TO ${state} AS ${select}`,
      `CREATE VIEW ${reader} AS ${readView}`,
    ],
    backfill: `INSERT INTO ${state} ${select}`,
    drop: [`DROP TABLE IF EXISTS ${reader}`, `DROP TABLE IF EXISTS ${filler}`, `DROP TABLE IF EXISTS ${state}`],
  };
}

/** Every projection of `database`, in creation order. */
export function projections(database: string): Projection[] {
  return SPECS.map((spec) => projection(database, spec));
}

/** Names of the reading views (what the SOC, reports and the verifier query). */
export const PROJECTION_NAMES = SPECS.map((s) => s.name);
