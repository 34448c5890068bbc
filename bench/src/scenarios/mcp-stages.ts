// Where an MCP tool call's time goes through the gateway, from what the bench can see without
// touching the gateway: its own round trips, the session's audit events (the request's and the
// response's record times) and the policy processor's summary. Pure: samples and rows in, stats out.
import { type LatencyStats, summarize } from '../scenario-stats.js';

/** One audit event of the bench's gateway session, as the projection stores it. */
export interface McpAuditRow {
  eventType: string;
  requestId: string;
  seq: number;
  timeUs: number;
}

export interface McpStages {
  /** Request recorded -> response event stamped: request write, verdict, verdict delivery, the server's call, masking. */
  auditLoop: LatencyStats;
  /** The client's round trip less the above: HTTP and TLS both ways, token check, SDK, the response's write. */
  outside: LatencyStats;
  /** The processor's mean request recorded -> verdict ready to send over the timed calls, ms (NaN when unknown). */
  processorMeanMs: number;
  /** Verdicts the processor counted meanwhile (anyone else's included). */
  processorVerdicts: number;
}

/**
 * Pairs the client's timed round trips with the session's requests in record order (the first
 * `warmup` requests are the untimed ones). Throws when the session holds another number of
 * requests or one without its response: the pairing would then be a guess.
 */
export function mcpStages(
  samplesMs: readonly number[],
  rows: readonly McpAuditRow[],
  warmup: number,
): Omit<McpStages, 'processorMeanMs' | 'processorVerdicts'> {
  const responses = new Map<string, number>();
  for (const r of rows) if (r.eventType === 'ResponseObserved') responses.set(r.requestId, r.timeUs);
  // A producer retry can store an event twice: one request per id.
  const byId = new Map(rows.filter((r) => r.eventType === 'RequestObserved').map((r) => [r.requestId, r]));
  const requests = [...byId.values()].sort((a, b) => a.seq - b.seq);
  if (requests.length !== warmup + samplesMs.length)
    throw new Error(`the session recorded ${requests.length} requests, the bench made ${warmup + samplesMs.length}`);
  const loop: number[] = [];
  const outside: number[] = [];
  requests.slice(warmup).forEach((r, i) => {
    const respondedUs = responses.get(r.requestId);
    if (respondedUs === undefined) throw new Error(`request ${r.requestId} has no recorded response`);
    const loopMs = (respondedUs - r.timeUs) / 1000;
    loop.push(loopMs);
    outside.push((samplesMs[i] ?? Number.NaN) - loopMs);
  });
  return { auditLoop: summarize(loop), outside: summarize(outside) };
}

/** Mean ms of a Prometheus summary between two readings of its _sum (seconds) and _count. */
export function summaryMeanMs(
  before: { sum: number; count: number },
  after: { sum: number; count: number },
): { meanMs: number; count: number } {
  const count = after.count - before.count;
  return { meanMs: count > 0 ? ((after.sum - before.sum) / count) * 1000 : Number.NaN, count };
}
