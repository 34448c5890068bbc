// From a verdict's masking plan to a compiled plan. Plans are compiled once per distinct rule
// list (verdicts of the same rules carry the same list), with the ingress's tokenization key ring.
import { GatewayError } from '@agentgate/errors';
import { type CompiledPlan, compileMaskingPlan, fromVerdictRules, type MaskingKeyRing, type VerdictMaskingRule } from '@agentgate/masking';

const MAX_COMPILED_PLANS = 256;

/** Compiled plans by their verdict rules. */
export class MaskingPlans {
  private readonly compiled = new Map<string, CompiledPlan>();
  // The last plan handed out and its rules: a session's statements mostly carry the same plan,
  // and comparing the rules field by field costs less than the JSON key of the map below.
  private last: { rules: readonly VerdictMaskingRule[]; plan: CompiledPlan } | undefined;

  constructor(private readonly keyRing: MaskingKeyRing | undefined) {}

  /**
   * The plan a verdict carries, compiled; undefined when it carries none. A plan the ingress
   * cannot apply (an encoding it does not know, tokenization without a key) fails closed with
   * AG_ERR_MASKING_UNSUPPORTED: the statement is not run unmasked.
   */
  forVerdict(rules: readonly VerdictMaskingRule[]): CompiledPlan | undefined {
    if (rules.length === 0) return undefined;
    if (this.last && sameRules(this.last.rules, rules)) return this.last.plan;
    const key = JSON.stringify(rules);
    const known = this.compiled.get(key);
    if (known) {
      this.last = { rules: copyOf(rules), plan: known };
      return known;
    }
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
    this.last = { rules: copyOf(rules), plan };
    return plan;
  }
}

// The verdict's objects stay the caller's: a copy cannot change under the comparison.
function copyOf(rules: readonly VerdictMaskingRule[]): VerdictMaskingRule[] {
  return rules.map((r) => ({ target: r.target, strategy: r.strategy, detector: r.detector }));
}

function sameRules(a: readonly VerdictMaskingRule[], b: readonly VerdictMaskingRule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.target !== y.target || x.strategy !== y.strategy || x.detector !== y.detector) return false;
  }
  return true;
}
