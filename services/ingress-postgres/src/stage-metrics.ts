// Where an audited statement's time goes inside the ingress, as histograms by stage. Together
// with agentgate_audit_write_seconds (request and response writes) and
// agentgate_verdict_wait_seconds they account for the whole of a statement's added latency:
//   queued+parsed   message in hand -> its request event handed to the audit log (waiting for
//                   the session's earlier writes, lexing checks, classification)
//   request+verdict request handed to the log -> allow verdict in hand
//   upstream        forwarded to the target -> its completion message seen, in two parts:
//     target          forwarded -> the target's first reply to it (the target's own time)
//     relay           first reply -> completion seen (rows read, masked when planned, relayed);
//                     `relay+masking` for results the verdict masks, so the two can be compared
//   response        completion seen -> response event acknowledged, completion released
//   total           message in hand -> completion released
import { LatencyHistogram } from '@agentgate/observability';

export const statementStages = new LatencyHistogram(
  'agentgate_pg_statement_stage_seconds',
  'Time of audited statements in the ingress by stage (queued+parsed, request+verdict, upstream, response, total).',
  'stage',
);

/**
 * Where a connection's set-up goes, from the password message (the token) in hand:
 *   token           token verified (signature against the cached JWKS, claims, admission)
 *   session-opened  SessionOpened acknowledged by Kafka (nothing reaches the target before)
 *   upstream-login  the target's TLS handshake and SCRAM login, up to its ReadyForQuery
 *   total           password in hand -> ReadyForQuery sent to the agent
 */
export const connectStages = new LatencyHistogram(
  'agentgate_pg_connect_stage_seconds',
  'Time of a connection set-up in the ingress by stage (token, session-opened, upstream-login, total).',
  'stage',
);

/**
 * What masking added to each masked result (ResultMasking.elapsedMs), by the result's size:
 * `rows<=100`, `rows<=10000`, `rows>10000`. The bench reads the first to report the added
 * latency of masking a 100-row result as the live ingress spends it.
 */
export const maskingTime = new LatencyHistogram(
  'agentgate_pg_masking_seconds',
  'Time masking added to a masked result in the ingress (naming its columns, masking rows, COPY data and messages), by result size.',
  'rows',
  // Sub-millisecond steps: a 100-row result is masked in tenths of a millisecond.
  [
    0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.0006, 0.0007, 0.0008, 0.0009, 0.001, 0.00125, 0.0015, 0.002, 0.003, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30,
  ],
);

/** Observes the masking time of a result of `rows` rows. */
export function observeMasking(rows: number, elapsedMs: number): void {
  maskingTime.observe(rows <= 100 ? 'rows<=100' : rows <= 10_000 ? 'rows<=10000' : 'rows>10000', elapsedMs / 1000);
}

/** Instants (performance.now()) of one statement's way through the ingress; 0 = not reached. */
export interface StatementTiming {
  receivedAt: number;
  requestAt: number;
  forwardedAt: number;
  firstReplyAt: number;
}

export const newTiming = (receivedAt = 0): StatementTiming => ({ receivedAt, requestAt: 0, forwardedAt: 0, firstReplyAt: 0 });

/** Notes the instant of the target's first reply to a statement (once). */
export function markFirstReply(t: StatementTiming): void {
  if (t.firstReplyAt === 0) t.firstReplyAt = performance.now();
}

/**
 * Observes a statement whose completion was seen at `completeAt` and released at `releasedAt`;
 * `masked` when the verdict planned masking of its result.
 */
export function observeStatement(t: StatementTiming, completeAt: number, releasedAt: number, masked = false): void {
  if (t.receivedAt === 0 || t.requestAt === 0 || t.forwardedAt === 0) return;
  const s = (ms: number): number => Math.max(0, ms) / 1000;
  statementStages.observe('queued+parsed', s(t.requestAt - t.receivedAt));
  statementStages.observe('request+verdict', s(t.forwardedAt - t.requestAt));
  statementStages.observe('upstream', s(completeAt - t.forwardedAt));
  if (t.firstReplyAt !== 0) {
    statementStages.observe('target', s(t.firstReplyAt - t.forwardedAt));
    statementStages.observe(masked ? 'relay+masking' : 'relay', s(completeAt - t.firstReplyAt));
  }
  statementStages.observe('response', s(releasedAt - completeAt));
  statementStages.observe('total', s(releasedAt - t.receivedAt));
}
