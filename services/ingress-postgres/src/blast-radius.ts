// The blast radius of an UPDATE or DELETE sent for approval: the rows the target's planner
// expects it to touch, shown to approvers. Asked with EXPLAIN (never ANALYZE: nothing runs) in
// a read-only transaction under a statement timeout, on a catalog connection of the gateway's
// own as the session's target role, so the agent's session and transaction are never touched.
// The statement goes in one Parse: the server refuses a string of several statements there.
// Pure: the messages, the reply and the event; catalog-connection.ts does the I/O.
import { serialize } from 'pg-protocol';
import { chainEvent, derivedEventId, GENESIS, type AuditEventOf } from '@agentgate/events';
import { type BackendFrame, decodeErrorFields } from '@agentgate/pg-wire';
import { dataRowValues } from './response-pump.js';
import type { CatalogReply } from './catalog-connection.js';

/** Statement kinds whose blast radius is estimated. */
export const ESTIMATED_KINDS: ReadonlySet<string> = new Set(['UpdateStmt', 'DeleteStmt']);

export interface BlastRadius {
  estimatedRows: number | null;
  planSummary: string | null;
  error: string | null;
}

/**
 * BEGIN READ ONLY with a local statement timeout, the EXPLAIN with the statement's parameters
 * (as text), then ROLLBACK: three ReadyForQuery in all, whatever fails on the way.
 */
export function explainMessages(statement: string, parameters: readonly (string | null)[], timeoutMs: number): Buffer {
  return Buffer.concat([
    serialize.query(`BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`),
    serialize.parse({ text: `EXPLAIN (FORMAT JSON, VERBOSE) ${statement}` }),
    serialize.bind({ values: [...parameters] }),
    serialize.execute({}),
    serialize.sync(),
    serialize.query('ROLLBACK'),
  ]);
}

interface PlanNode {
  'Node Type'?: string;
  Operation?: string;
  'Relation Name'?: string;
  Schema?: string;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

/** What a plan says: the rows its modifying node reads (its input), and what it modifies. */
export function summarizePlan(json: string): BlastRadius {
  let top: PlanNode | undefined;
  try {
    top = (JSON.parse(json) as { Plan?: PlanNode }[])[0]?.Plan;
  } catch {
    return { estimatedRows: null, planSummary: null, error: 'the plan is not JSON' };
  }
  if (!top) return { estimatedRows: null, planSummary: null, error: 'the plan is empty' };
  // ModifyTable's own row estimate counts RETURNING rows (0 without it); the rows it updates or
  // deletes are those its input produces.
  const modify = top['Node Type'] === 'ModifyTable';
  const rows = modify ? (top.Plans?.[0]?.['Plan Rows'] ?? top['Plan Rows']) : top['Plan Rows'];
  const relation = top['Relation Name'] ? `${top.Schema ? `${top.Schema}.` : ''}${top['Relation Name']}` : null;
  const summary = modify && top.Operation ? `${top.Operation} on ${relation ?? '?'}` : (top['Node Type'] ?? null);
  return { estimatedRows: typeof rows === 'number' ? Math.round(rows) : null, planSummary: summary, error: null };
}

/** Folds the answer to explainMessages. */
export class ExplainReply implements CatalogReply<BlastRadius> {
  private ready = 0;
  private plan: string | undefined;
  private error: string | undefined;

  push(frame: BackendFrame): { done: true; answer: BlastRadius } | { done: false } {
    switch (frame.type) {
      case 'D':
        this.plan ??= dataRowValues(frame.raw)[0] ?? undefined;
        return { done: false };
      case 'E': {
        const fields = decodeErrorFields(frame.raw);
        // The SQLSTATE only: the server's message may quote the statement's values.
        this.error ??= fields.code === '57014' ? 'the estimate timed out' : `the target refused the estimate (SQLSTATE ${fields.code})`;
        return { done: false };
      }
      case 'Z':
        this.ready++;
        if (this.ready < 3) return { done: false };
        if (this.plan !== undefined && this.error === undefined) return { done: true, answer: summarizePlan(this.plan) };
        return { done: true, answer: { estimatedRows: null, planSummary: null, error: this.error ?? 'no plan' } };
      default:
        return { done: false };
    }
  }
}

/** The event recording an estimate: a one-event chain of its own, linked to the approval by id. */
export function blastRadiusEvent(
  approvalId: string,
  requestId: string,
  radius: BlastRadius,
  producer: string,
  timeUs: number,
): AuditEventOf<'BlastRadiusEstimated'> {
  return chainEvent<'BlastRadiusEstimated'>(
    {
      eventId: derivedEventId(approvalId, 'blast-radius'),
      eventType: 'BlastRadiusEstimated',
      sessionId: derivedEventId(approvalId, 'blast-radius-chain'),
      timeUs,
      producer,
      traceId: null,
      actor: null,
      payload: { approvalId, requestId, ...radius },
    },
    GENESIS,
  );
}
