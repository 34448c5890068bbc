// Where an audited statement's time goes, from the ingress's own histograms: its /metrics page
// is read before and after a 1-client run, and the quantiles are taken from the difference.
import { histogramDelta, type LatencyStats } from '../scenario-stats.js';

export const STAGE_METRICS = {
  stages: 'agentgate_pg_statement_stage_seconds',
  auditWrites: 'agentgate_audit_write_seconds',
  verdictWait: 'agentgate_verdict_wait_seconds',
} as const;

/** Stage order of the ingress (the histogram's own label values). */
export const STAGE_ORDER = ['queued+parsed', 'request+verdict', 'upstream', 'target', 'relay', 'relay+masking', 'response', 'total'];

export interface StageSnapshot {
  adminPort: number;
  text: string;
}

export async function snapshotMetrics(adminPort: number): Promise<StageSnapshot> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (!r.ok) throw new Error(`GET :${adminPort}/metrics answered ${r.status}`);
  return { adminPort, text: await r.text() };
}

export interface StageTable {
  adminPort: number;
  /** One row per histogram and label, in the ingress's stage order first. */
  rows: { metric: string; label: string; stats: LatencyStats }[];
}

/** Quantiles of every stage, audit write and verdict wait observed between two snapshots. */
export function stageTable(before: StageSnapshot, after: StageSnapshot): StageTable {
  const rows: StageTable['rows'] = [];
  for (const metric of Object.values(STAGE_METRICS)) {
    const delta = histogramDelta(before.text, after.text, metric);
    const labels = [...delta.keys()].sort((a, b) => {
      const ia = STAGE_ORDER.indexOf(a);
      const ib = STAGE_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    for (const label of labels) {
      const stats = delta.get(label)!;
      if (stats.count > 0) rows.push({ metric, label, stats });
    }
  }
  return { adminPort: after.adminPort, rows };
}
