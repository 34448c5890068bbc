// The projector's metrics in Prometheus text format (pure: the shell passes counts and the clock).
import { LatencyHistogram } from '@agentgate/observability';
import type { PartitionState } from './batcher.js';

/** Upper bounds (seconds) of the insert duration histogram. */
export const INSERT_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Durations of the INSERTs ClickHouse accepted, by table. */
export function insertSecondsHistogram(): LatencyHistogram {
  return new LatencyHistogram(
    'agentgate_projector_insert_seconds',
    'Duration of an INSERT ClickHouse accepted.',
    'table',
    INSERT_SECONDS_BUCKETS,
  );
}

export interface ProjectorCounters {
  /** Rows inserted per table. */
  rows: ReadonlyMap<string, number>;
  /** Successful inserts per table. */
  batches: ReadonlyMap<string, number>;
  /** Failed inserts (or failed checks of a failed insert) per table. */
  failures: ReadonlyMap<string, number>;
  insertSeconds: LatencyHistogram;
  /** Rows of audit events and policy publications (the rest are rejects). */
  projected: number;
  rejected: number;
  /** Copies of events already stored (same id, same hash): no second row. */
  duplicatesDropped: number;
  /** Different events under an id already stored: kept, flagged id_conflict. */
  idConflicts: number;
  /** Per partition: the high watermark at its last fetch, and the first offset this run read (earlier ones were committed before). */
  highWatermarks: ReadonlyMap<string, { topic: string; partition: number; highWatermark: bigint; firstRead: bigint }>;
}

const label = (v: string | number): string => JSON.stringify(String(v));

/** The exposition text; per partition: messages not yet committed and the age of the oldest event read but not in ClickHouse. */
export function projectorMetrics(c: ProjectorCounters, partitions: readonly PartitionState[], nowMs: number): string {
  const out: string[] = [];
  const perTable = (name: string, help: string, values: ReadonlyMap<string, number>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [table, v] of values) out.push(`${name}{table=${label(table)}} ${v}`);
  };
  out.push('# TYPE agentgate_projector_events_total counter', `agentgate_projector_events_total ${c.projected}`);
  out.push('# TYPE agentgate_projector_rejected_total counter', `agentgate_projector_rejected_total ${c.rejected}`);
  out.push(
    '# HELP agentgate_projector_duplicates_dropped_total Copies of stored events (same id and hash) given no second row.',
    '# TYPE agentgate_projector_duplicates_dropped_total counter',
    `agentgate_projector_duplicates_dropped_total ${c.duplicatesDropped}`,
    '# HELP agentgate_projector_id_conflicts_total Different events under a stored id: kept and flagged.',
    '# TYPE agentgate_projector_id_conflicts_total counter',
    `agentgate_projector_id_conflicts_total ${c.idConflicts}`,
  );
  perTable('agentgate_projector_rows_inserted_total', 'Rows ClickHouse accepted.', c.rows);
  perTable('agentgate_projector_batches_total', 'INSERTs ClickHouse accepted.', c.batches);
  perTable('agentgate_projector_insert_failures_total', 'INSERTs that failed (retried after a backoff).', c.failures);
  out.push(c.insertSeconds.render().trimEnd());
  out.push(
    '# HELP agentgate_projector_lag_seconds Age of the oldest event read from a partition and not yet in ClickHouse (0: none waits).',
    '# TYPE agentgate_projector_lag_seconds gauge',
  );
  const sorted = [...partitions].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  for (const p of sorted) {
    const age = p.oldestUnprojectedMs === undefined ? 0 : Math.max(0, nowMs - p.oldestUnprojectedMs) / 1000;
    out.push(`agentgate_projector_lag_seconds{topic=${label(p.topic)},partition=${label(p.partition)}} ${age}`);
  }
  out.push(
    '# HELP agentgate_projector_lag_messages Messages of a partition past its committable offset, at its last fetch.',
    '# TYPE agentgate_projector_lag_messages gauge',
  );
  const byKey = new Map(sorted.map((p) => [`${p.topic}\u0000${p.partition}`, p]));
  for (const [key, w] of [...c.highWatermarks].sort(([a], [b]) => a.localeCompare(b))) {
    const committable = byKey.get(key)?.committable ?? -1n;
    const next = committable + 1n > w.firstRead ? committable + 1n : w.firstRead;
    const lag = w.highWatermark - next;
    out.push(`agentgate_projector_lag_messages{topic=${label(w.topic)},partition=${label(w.partition)}} ${lag > 0n ? lag : 0n}`);
  }
  return `${out.join('\n')}\n`;
}
