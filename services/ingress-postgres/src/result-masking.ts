// From a verdict's masking plan to what the response pump applies to one statement's result.
// Plans are compiled once per distinct rule list (verdicts of the same rules carry the same
// list), with the ingress's tokenization key ring.
import { GatewayError } from '@agentgate/errors';
import {
  type CompiledPlan,
  compileMaskingPlan,
  fromVerdictRules,
  type MaskingKeyRing,
  MaskingTally,
  type VerdictMaskingRule,
} from '@agentgate/masking';
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
}

const MAX_COMPILED_PLANS = 256;

/** Compiled plans by their verdict rules. */
export class MaskingPlans {
  private readonly compiled = new Map<string, CompiledPlan>();

  constructor(private readonly keyRing: MaskingKeyRing | undefined) {}

  /**
   * The plan a verdict carries, compiled; undefined when it carries none. A plan the ingress
   * cannot apply (an encoding it does not know, tokenization without a key) fails closed with
   * AG_ERR_MASKING_UNSUPPORTED: the statement is not run unmasked.
   */
  forVerdict(rules: readonly VerdictMaskingRule[]): CompiledPlan | undefined {
    if (rules.length === 0) return undefined;
    const key = JSON.stringify(rules);
    const known = this.compiled.get(key);
    if (known) return known;
    const decoded = fromVerdictRules(rules);
    if (!decoded.ok)
      throw new GatewayError('AG_ERR_MASKING_UNSUPPORTED', `the verdict's masking plan is not one this gateway reads: ${decoded.reason}`);
    if (!this.keyRing) {
      throw new GatewayError(
        'AG_ERR_MASKING_UNSUPPORTED',
        'policy masks this result but the gateway has no masking key (maskingKeys in the connections file)',
      );
    }
    const plan = compileMaskingPlan(decoded.plan, this.keyRing);
    if (this.compiled.size >= MAX_COMPILED_PLANS) this.compiled.clear();
    this.compiled.set(key, plan);
    return plan;
  }

  /** A fresh per-statement masking for `plan`. */
  static start(
    plan: CompiledPlan,
    connection: string,
    relations: (tableOids: readonly number[]) => Promise<(oid: number) => RelationInfo | undefined>,
  ): ResultMasking {
    return { plan, connection, relations, tally: new MaskingTally() };
  }
}
