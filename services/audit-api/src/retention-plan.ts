// The retention planner: which month partitions of the audit tables are old enough to drop, and
// which of those a legal hold keeps. Pure: the partitions, the holds and the cutoff come in.
// ClickHouse 18.16 has no TTL, so retention is this plan carried out by retention-run.ts.
import { GatewayError } from '@agentgate/errors';

/** One month partition as system.parts shows it across the audit tables. */
export interface PartitionInfo {
  /** YYYYMM, as toYYYYMM(event_date) names it (the *_state tables use the same month number). */
  partition: string;
  /** Rows of agentgate.events in it: the audit events a drop removes. */
  rows: number;
  /** Tables that hold the partition (events and the projection *_state tables). */
  tables: string[];
}

export interface RetentionInput {
  partitions: readonly PartitionInfo[];
  /** Per partition, the held sessions (and hold records) with events in it. */
  heldSessionsByPartition: ReadonlyMap<string, readonly string[]>;
  /** Microseconds since the epoch: months that end at or before it are past retention. */
  cutoffUs: number;
}

export interface PlannedPartition {
  partition: string;
  action: 'drop' | 'keep';
  tables: string[];
  rows: number;
  /** Why a partition is kept: the held sessions with events in it (empty for a drop). */
  heldSessions: string[];
}

const MONTH = /^(\d{4})(0[1-9]|1[0-2])$/;

/** Microseconds since the epoch at which a YYYYMM month ends (the first instant of the next month, UTC). */
export function monthEndUs(partition: string): number {
  const m = MONTH.exec(partition);
  if (!m) throw new GatewayError('AG_ERR_INTERNAL', `not a month partition: ${JSON.stringify(partition)}`);
  // Date.UTC takes a 0-based month: the 1-based month number is the next month's index.
  return Date.UTC(Number(m[1]), Number(m[2]), 1) * 1000;
}

/** The cutoff for "older than `days` days" at `nowUs`. */
export function cutoffFor(nowUs: number, days: number): number {
  return nowUs - days * 86_400_000_000;
}

/**
 * Every partition whose whole month ends at or before the cutoff, oldest first: `drop`, or `keep`
 * when a held session has events in it. Partitions that are not month numbers are left alone
 * (never dropped by a guess); so is the month the cutoff falls in.
 */
export function planRetention(input: RetentionInput): PlannedPartition[] {
  const plan: PlannedPartition[] = [];
  const sorted = [...input.partitions].filter((p) => MONTH.test(p.partition)).sort((a, b) => (a.partition < b.partition ? -1 : 1));
  for (const p of sorted) {
    if (monthEndUs(p.partition) > input.cutoffUs) continue;
    const held = [...new Set(input.heldSessionsByPartition.get(p.partition) ?? [])].sort();
    plan.push({
      partition: p.partition,
      action: held.length > 0 ? 'keep' : 'drop',
      tables: [...p.tables].sort(),
      rows: p.rows,
      heldSessions: held,
    });
  }
  return plan;
}
