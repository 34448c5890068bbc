// Masking rule sets: the policy's top-level `masking:` map compiled to masking plans
// (@agentgate/masking), and the one plan a request gets when several mask rules match it.
// Pure: the plan travels in the verdict (toVerdictRules); the ingress applies it.
import {
  type ColumnRule,
  type ColumnStrategy,
  copyOutAllowed,
  type DetectorName,
  MASKING_PLAN_VERSION,
  type MaskingPlan,
  type MaskStrategy,
  PLAN_LIMITS,
  toVerdictRules,
  type VerdictMaskingRule,
  validateMaskingPlan,
} from '@agentgate/masking';
import type { CompiledPolicy } from './types.js';

/** A strategy as written: a word (YAML's bare null is the `null` strategy). */
export type RawStrategyName = 'redact' | 'partial' | 'null' | 'tokenize' | 'keep' | 'detect' | null;

/** A detector's strategy as written: a word, or `{ strategy: partial, keep: 4 }`. */
export type RawDetectorStrategy = RawStrategyName | { strategy: RawStrategyName; keep?: number };

/** One masking rule set as written in a policy file (validated by POLICY_FILE_SCHEMA first). */
export interface RawMaskingSet {
  description?: string;
  columns?: {
    schema?: string;
    table?: string;
    column?: string;
    type?: string | number | (string | number)[];
    strategy: RawStrategyName;
    keep?: number;
  }[];
  detectors?: DetectorName[] | Partial<Record<DetectorName, RawDetectorStrategy>>;
  defaultDetectorStrategy?: RawStrategyName;
  /** `detectors`: COPY TO output may pass with the detectors applied (MaskingPlan.copyOut). */
  copyOut?: 'detectors';
}

/** When a detector's strategy is not given: redact, the strategy that keeps nothing of the value. */
const DEFAULT_DETECTOR_STRATEGY: MaskStrategy = { kind: 'redact' };

function strategy(name: RawStrategyName, keep: number | undefined, err: (message: string) => void): ColumnStrategy {
  const kind = name ?? 'null';
  if (keep !== undefined && kind !== 'partial') err(`keep is for the partial strategy, not ${kind}`);
  return kind === 'partial' && keep !== undefined ? { kind, keep } : { kind };
}

/**
 * Compiles one set to a plan. `err(message, path)` reports a problem at a path below the set.
 * Column rules keep their order (the first that matches a column wins); detectors keep theirs.
 */
export function compileMaskingSet(raw: RawMaskingSet, err: (message: string, path: (string | number)[]) => void): MaskingPlan | null {
  let ok = true;
  const fail = (message: string, path: (string | number)[]): void => {
    ok = false;
    err(message, path);
  };
  const fallback = (
    raw.defaultDetectorStrategy === undefined
      ? DEFAULT_DETECTOR_STRATEGY
      : strategy(raw.defaultDetectorStrategy, undefined, (m) => fail(m, ['defaultDetectorStrategy']))
  ) as MaskStrategy;
  const rules: ColumnRule[] = (raw.columns ?? []).map((c, i) => {
    const rule: { -readonly [K in keyof ColumnRule]: ColumnRule[K] } = {
      strategy: strategy(c.strategy, c.keep, (m) => fail(m, ['columns', i, 'keep'])),
    };
    if (c.schema !== undefined) rule.schema = c.schema;
    if (c.table !== undefined) rule.table = c.table;
    if (c.column !== undefined) rule.column = c.column;
    if (c.type !== undefined) rule.type = c.type;
    if (rule.schema === undefined && rule.table === undefined && rule.column === undefined && rule.type === undefined)
      fail('a column rule names at least one of schema, table, column, type', ['columns', i]);
    return rule;
  });
  let detectors: DetectorName[] = [];
  const perDetector: Partial<Record<DetectorName, MaskStrategy>> = {};
  if (Array.isArray(raw.detectors)) detectors = [...raw.detectors];
  else if (raw.detectors) {
    for (const [name, v] of Object.entries(raw.detectors) as [DetectorName, RawDetectorStrategy][]) {
      detectors.push(name);
      const s =
        v !== null && typeof v === 'object'
          ? strategy(v.strategy, v.keep, (m) => fail(m, ['detectors', name]))
          : strategy(v ?? null, undefined, () => {});
      perDetector[name] = s as MaskStrategy;
    }
  }
  const plan: MaskingPlan = {
    version: MASKING_PLAN_VERSION,
    rules,
    detectors,
    ...(Object.keys(perDetector).length > 0 ? { detectorStrategies: perDetector } : {}),
    defaultDetectorStrategy: fallback,
    ...(raw.copyOut === 'detectors' ? { copyOut: 'detectors' as const } : {}),
  };
  if (!ok) return null;
  // The schema checked the shapes; this is the library's own check (names, limits) on the result.
  const valid = validateMaskingPlan(plan);
  if (!valid.ok) {
    err(`${valid.path.replace(/^\$\.?/, '')}: ${valid.reason}`, []);
    return null;
  }
  return plan;
}

/** Column rules over all sets at most this many, so any merge of them is a valid plan. */
export const MAX_POLICY_COLUMN_RULES = PLAN_LIMITS.rules;

/**
 * One plan from several, in the order given (rule order): column rules concatenated, so the
 * first set's rule for a column wins; detectors united, each with the strategy of the first
 * set that enables it; the first set's default strategy. Detector strategies are resolved per
 * set before merging, so a later set's default never changes an earlier set's detector.
 */
export function mergeMaskingPlans(plans: readonly MaskingPlan[]): MaskingPlan {
  const first = plans[0];
  if (!first) throw new RangeError('mergeMaskingPlans needs at least one plan');
  if (plans.length === 1) return first;
  const rules: ColumnRule[] = [];
  const detectors: DetectorName[] = [];
  const strategies: Partial<Record<DetectorName, MaskStrategy>> = {};
  for (const p of plans) {
    rules.push(...p.rules);
    for (const d of p.detectors) {
      if (detectors.includes(d)) continue;
      detectors.push(d);
      strategies[d] = p.detectorStrategies?.[d] ?? p.defaultDetectorStrategy;
    }
  }
  // COPY TO under detectors only when every set whose column rules mask allows it.
  const copyOut = plans.every((p) => copyOutAllowed(p));
  return {
    version: MASKING_PLAN_VERSION,
    rules,
    detectors,
    detectorStrategies: strategies,
    defaultDetectorStrategy: first.defaultDetectorStrategy,
    ...(copyOut ? { copyOut: 'detectors' as const } : {}),
  };
}

// Per compiled policy: the encoded plan of each combination of sets seen (requesters repeat).
const MAX_CACHED_COMBINATIONS = 1_000;
const encoded = new WeakMap<CompiledPolicy, Map<string, readonly VerdictMaskingRule[]>>();

/**
 * The verdict rules for the named sets of `policy`, merged in the order given; [] for none.
 * Throws RangeError on a set the policy does not define (compilePolicy refuses such policies).
 */
export function verdictMaskingRules(policy: CompiledPolicy, sets: readonly string[]): VerdictMaskingRule[] {
  if (sets.length === 0) return [];
  let byKey = encoded.get(policy);
  if (!byKey) {
    byKey = new Map();
    encoded.set(policy, byKey);
  }
  const key = sets.join('\u0000');
  let rules = byKey.get(key);
  if (!rules) {
    const plans = sets.map((s) => {
      const plan = policy.masking[s];
      if (!plan) throw new RangeError(`policy ${policy.version} has no masking rule set "${s}"`);
      return plan;
    });
    rules = toVerdictRules(mergeMaskingPlans(plans));
    if (byKey.size >= MAX_CACHED_COMBINATIONS) byKey.clear();
    byKey.set(key, rules);
  }
  // Fresh objects: a verdict's payload is the caller's to keep; the cache stays untouched.
  return rules.map((r) => ({ ...r }));
}
