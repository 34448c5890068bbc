// What the response pump applies to one statement's result, from the verdict's compiled plan
// (MaskingPlans, libs/ingress-core).
import { type CompiledPlan, MaskingTally } from '@agentgate/masking';
import type { RelationInfo, RowMasking } from './row-masking.js';

/** The masking of one statement's result, filled in as the result streams. */
export interface ResultMasking {
  readonly plan: CompiledPlan;
  readonly connection: string;
  /** Names the tables of the result's columns on the target (relation-catalog.ts). */
  readonly relations: (tableOids: readonly number[]) => Promise<(oid: number) => RelationInfo | undefined>;
  /** Cells masked, by column rule and detector, for the response event. */
  readonly tally: MaskingTally;
  /** Set at the result's RowDescription; rows before it cannot be attributed and are refused. */
  rows?: RowMasking;
  /**
   * Milliseconds the result's masking held it up: naming its columns (catalog lookup included)
   * and masking its rows, COPY data, errors and notices. Masking runs in line with relaying, so
   * this is the latency it added to the result.
   */
  elapsedMs: number;
}

/** A fresh per-statement masking for `plan`. */
export function startResultMasking(
  plan: CompiledPlan,
  connection: string,
  relations: (tableOids: readonly number[]) => Promise<(oid: number) => RelationInfo | undefined>,
): ResultMasking {
  return { plan, connection, relations, tally: new MaskingTally(), elapsedMs: 0 };
}
