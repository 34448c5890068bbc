// Carries out a retention plan. Order is the point: for each planned month, the RetentionApplied
// record is written to Kafka and acknowledged FIRST, and only then (for a drop) are the month's
// partitions dropped. A failed write stops the run before anything of that month is dropped,
// so no data ever disappears without its record (fail closed). Everything it touches comes in.
import type { Actor, AuditEvent } from '@agentgate/events';
import { GatewayError, isGatewayError } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import {
  currentHoldsQuery,
  dropPartitionSql,
  heldByPartition,
  heldPartitionsQuery,
  partitionsOf,
  partitionsQuery,
  type HoldRow,
  type PartRow,
} from './governance-queries.js';
import { retentionEvent } from './governance-events.js';
import { planRetention, type PlannedPartition } from './retention-plan.js';

export interface RetentionDeps {
  /** Reads (system.parts, the events table); rows as JSON objects. */
  query<T>(sql: string): Promise<T[]>;
  /** Runs one ALTER ... DROP PARTITION as the ClickHouse user `retention`. */
  dropPartition(sql: string): Promise<void>;
  /** Writes one event to the governance topic; resolves once Kafka acknowledged it (acks=all). */
  publish(event: AuditEvent): Promise<void>;
  database: string;
  /** The service name: producer of the records. */
  producer: string;
  newId(): string;
  /** Microseconds since the epoch. */
  nowUs(): number;
  logger?: Logger | undefined;
}

export interface RetentionRequest {
  cutoffUs: number;
  dryRun: boolean;
  actor: Actor;
}

export interface AppliedPartition extends PlannedPartition {
  /** The RetentionApplied record's event id (absent in a dry run). */
  eventId?: string;
}

export interface RetentionOutcome {
  cutoffUs: number;
  dryRun: boolean;
  partitions: AppliedPartition[];
}

/** The plan for a cutoff, from what ClickHouse holds now. */
export async function currentPlan(deps: RetentionDeps, cutoffUs: number): Promise<PlannedPartition[]> {
  const holds = await deps.query<HoldRow>(currentHoldsQuery(deps.database));
  const parts = partitionsOf(await deps.query<PartRow>(partitionsQuery(deps.database)));
  const heldSessions = holds.map((h) => h.session_id);
  const heldRows =
    heldSessions.length === 0
      ? []
      : await deps.query<{ partition: string; session_id: string }>(heldPartitionsQuery(deps.database, heldSessions));
  return planRetention({ partitions: parts, heldSessionsByPartition: heldByPartition(heldRows), cutoffUs });
}

/** Plans and (unless a dry run) records and drops, month by month, oldest first. */
export async function applyRetention(deps: RetentionDeps, request: RetentionRequest): Promise<RetentionOutcome> {
  const plan = await currentPlan(deps, request.cutoffUs);
  if (request.dryRun) return { cutoffUs: request.cutoffUs, dryRun: true, partitions: plan };
  const applied: AppliedPartition[] = [];
  for (const p of plan) {
    const event = retentionEvent(
      { eventId: deps.newId(), timeUs: deps.nowUs(), producer: deps.producer, actor: request.actor },
      {
        partition: p.partition,
        action: p.action,
        tables: p.tables,
        rows: p.rows,
        heldSessions: p.heldSessions,
        cutoffUs: request.cutoffUs,
      },
    );
    try {
      await deps.publish(event);
    } catch (cause) {
      deps.logger?.error({ partition: p.partition, action: p.action }, 'retention record not written; nothing more dropped');
      throw new GatewayError(
        'AG_ERR_AUDIT_UNAVAILABLE',
        `the retention record of ${p.partition} could not be written to the audit log; it was not dropped`,
        { cause },
      );
    }
    if (p.action === 'drop') {
      for (const table of p.tables) {
        try {
          await deps.dropPartition(dropPartitionSql(deps.database, table, p.partition));
        } catch (cause) {
          // The record says drop and the month is (partly) still there: running again finishes it.
          deps.logger?.error({ partition: p.partition, table }, 'partition drop failed after its record was written');
          if (isGatewayError(cause) && cause.code === 'AG_ERR_AUDIT_UNAVAILABLE') throw cause;
          throw new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', `dropping ${table} ${p.partition} failed; run retention again`, { cause });
        }
      }
    }
    deps.logger?.info({ partition: p.partition, action: p.action, rows: p.rows, held: p.heldSessions.length }, 'retention applied');
    applied.push({ ...p, eventId: event.eventId });
  }
  return { cutoffUs: request.cutoffUs, dryRun: false, partitions: applied };
}
