// A MaskingPlan as the rule list a VerdictIssued carries (schemas/audit-event.avsc,
// `maskingPlan: array<{ target, strategy, detector }>`), and back. The schema's three string
// fields predate the plan, so the plan is encoded into them instead of changing the schema:
//
//   target                                 strategy                  detector
//   column:<schema>.<table>.<column>       <column strategy>         null      a column rule, in order
//   column:<s>.<t>.<c>;type=<t1>,<t2>      <column strategy>         null      ... that also names types
//   type:<t1>,<t2>                         <column strategy>         null      a column rule on types only
//   detectors:default                      <mask strategy>           null      defaultDetectorStrategy (exactly one)
//   detector:<name>                        <mask strategy>           <name>    an enabled detector and its strategy
//   copy:out                               detectors                 null      copyOut (at most one)
//
//   column strategy = mask strategy | keep | detect
//   mask strategy   = redact | partial | partial:<keep> | null | tokenize
//
// Each name part is percent-encoded (so `.`, `;`, `,` and `%` inside a quoted identifier
// cannot split it); `*` and `?` stay globs. An empty part is an absent field (it matches a
// computed column too), unlike `*` (any name, but there must be one). A type part of digits
// only is a type OID; a type name made of digits is written with its first digit encoded.
// An empty list means "no masking" and is not a plan: a plan always has `detectors:default`.
// Unknown targets and strategies are refused, so a newer encoding fails closed in an older reader.
import type { ColumnRule, ColumnStrategy, MaskStrategy } from './column-rules.js';
import { MASKING_PLAN_VERSION, type MaskingPlan, validateMaskingPlan } from './plan.js';
import { isDetectorName } from './detectors/registry.js';
import type { DetectorName } from './types.js';

/** One entry of a verdict's `maskingPlan` (structurally `MaskingRule` of @agentgate/events). */
export interface VerdictMaskingRule {
  readonly target: string;
  readonly strategy: string;
  readonly detector: string | null;
}

/** `fromVerdictRules`' result: the plan, or why the rules are not one. */
export type VerdictRulesDecoding = { readonly ok: true; readonly plan: MaskingPlan } | { readonly ok: false; readonly reason: string };

const DEFAULT_TARGET = 'detectors:default';
const COPY_OUT_TARGET = 'copy:out';

function encodePart(s: string | undefined): string {
  if (s === undefined) return '';
  return s.replace(/[%.;,:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function encodeType(t: string | number): string {
  if (typeof t === 'number') return String(t);
  const e = encodePart(t);
  return /^\d/.test(e) ? `%3${e[0]}${e.slice(1)}` : e;
}

function strategyText(s: ColumnStrategy): string {
  return s.kind === 'partial' && s.keep !== undefined ? `partial:${s.keep}` : s.kind;
}

/**
 * Encodes a plan (already valid, see `validateMaskingPlan`) as verdict rules: column rules in
 * order, then `detectors:default`, then one entry per enabled detector with its resolved
 * strategy. Throws RangeError for a column rule with a `connection` glob: a verdict answers one
 * request on one connection, so the policy leaves connections out of the plans it sends.
 */
export function toVerdictRules(plan: MaskingPlan): VerdictMaskingRule[] {
  const out: VerdictMaskingRule[] = [];
  for (const r of plan.rules) {
    if (r.connection !== undefined) throw new RangeError('a verdict plan has no connection globs (the connection is the request’s)');
    const types = r.type === undefined ? undefined : (Array.isArray(r.type) ? r.type : [r.type]).map(encodeType).join(',');
    const named = r.schema !== undefined || r.table !== undefined || r.column !== undefined || types === undefined;
    const target = named
      ? `column:${encodePart(r.schema)}.${encodePart(r.table)}.${encodePart(r.column)}${types === undefined ? '' : `;type=${types}`}`
      : `type:${types}`;
    out.push({ target, strategy: strategyText(r.strategy), detector: null });
  }
  out.push({ target: DEFAULT_TARGET, strategy: strategyText(plan.defaultDetectorStrategy), detector: null });
  for (const d of plan.detectors) {
    const s = plan.detectorStrategies?.[d] ?? plan.defaultDetectorStrategy;
    out.push({ target: `detector:${d}`, strategy: strategyText(s), detector: d });
  }
  if (plan.copyOut === 'detectors') out.push({ target: COPY_OUT_TARGET, strategy: 'detectors', detector: null });
  return out;
}

class Bad {
  constructor(readonly reason: string) {}
}

function decodePart(s: string, what: string): string | undefined {
  if (s === '') return undefined;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new Bad(`${what}: bad percent-encoding`);
  try {
    return decodeURIComponent(s);
  } catch {
    throw new Bad(`${what}: bad percent-encoding`);
  }
}

function decodeTypes(s: string): (string | number)[] {
  return s.split(',').map((t) => {
    if (/^\d+$/.test(t)) return Number(t);
    const name = decodePart(t, 'type');
    if (name === undefined) throw new Bad('empty type');
    return name;
  });
}

function parseStrategy(s: string, column: boolean): ColumnStrategy {
  const m = /^partial:(\d{1,2})$/.exec(s);
  if (m) return { kind: 'partial', keep: Number(m[1]) };
  switch (s) {
    case 'redact':
    case 'partial':
    case 'null':
    case 'tokenize':
      return { kind: s };
    case 'keep':
    case 'detect':
      if (column) return { kind: s };
  }
  throw new Bad(`strategy "${s}" is not one of redact, partial, partial:<n>, null, tokenize${column ? ', keep, detect' : ''}`);
}

const sameStrategy = (a: ColumnStrategy, b: ColumnStrategy): boolean => strategyText(a) === strategyText(b);

/**
 * Decodes a verdict's rules into a plan and validates it (`validateMaskingPlan`). Per-detector
 * strategies equal to the default are left to the default, so a plan in that form round-trips
 * exactly. Refuses an empty list (no masking is not a plan), unknown targets, detectors or
 * strategies, a detector field that disagrees with its target, and duplicates.
 */
export function fromVerdictRules(rules: readonly VerdictMaskingRule[]): VerdictRulesDecoding {
  try {
    if (!Array.isArray(rules)) throw new Bad('not a list');
    const columnRules: ColumnRule[] = [];
    const detectors: DetectorName[] = [];
    const strategies = new Map<DetectorName, MaskStrategy>();
    let fallback: MaskStrategy | undefined;
    let copyOut: 'detectors' | undefined;
    rules.forEach((r, i) => {
      const at = (reason: string): Bad => new Bad(`rule ${i}: ${reason}`);
      try {
        if (typeof r?.target !== 'string' || typeof r.strategy !== 'string') throw new Bad('target and strategy must be strings');
        const { target } = r;
        if (target.startsWith('detector:')) {
          const name = target.slice('detector:'.length);
          if (!isDetectorName(name)) throw new Bad(`unknown detector "${name}"`);
          if (r.detector !== name) throw new Bad(`detector field ${JSON.stringify(r.detector)} does not match the target`);
          if (strategies.has(name)) throw new Bad(`detector "${name}" is listed twice`);
          detectors.push(name);
          strategies.set(name, parseStrategy(r.strategy, false) as MaskStrategy);
          return;
        }
        if (r.detector !== null) throw new Bad('only detector: targets name a detector');
        if (target === COPY_OUT_TARGET) {
          if (copyOut) throw new Bad('copy:out is listed twice');
          if (r.strategy !== 'detectors') throw new Bad(`copy:out must be "detectors", not ${JSON.stringify(r.strategy)}`);
          copyOut = 'detectors';
          return;
        }
        if (target === DEFAULT_TARGET) {
          if (fallback) throw new Bad('detectors:default is listed twice');
          fallback = parseStrategy(r.strategy, false) as MaskStrategy;
          return;
        }
        if (!target.startsWith('type:') && !target.startsWith('column:')) throw new Bad(`unknown target "${target.slice(0, 40)}"`);
        const strategy = parseStrategy(r.strategy, true);
        if (target.startsWith('type:')) {
          columnRules.push({ type: unwrap(decodeTypes(target.slice('type:'.length))), strategy });
          return;
        }
        const [names = '', typePart, ...rest] = target.slice('column:'.length).split(';');
        if (rest.length > 0 || (typePart !== undefined && !typePart.startsWith('type=')))
          throw new Bad('expected column:<s>.<t>.<c>[;type=<types>]');
        const parts: string[] = names.split('.');
        if (parts.length !== 3) throw new Bad('expected three name parts: column:<schema>.<table>.<column>');
        const [schema, table, column] = parts.map((p: string) => decodePart(p, 'name'));
        const rule: { -readonly [K in keyof ColumnRule]: ColumnRule[K] } = { strategy };
        if (schema !== undefined) rule.schema = schema;
        if (table !== undefined) rule.table = table;
        if (column !== undefined) rule.column = column;
        if (typePart !== undefined) rule.type = unwrap(decodeTypes(typePart.slice('type='.length)));
        columnRules.push(rule);
      } catch (e) {
        throw e instanceof Bad ? at(e.reason) : e;
      }
    });
    if (!fallback) throw new Bad('no detectors:default entry (an empty list means no masking, not a plan)');
    const perDetector: Partial<Record<DetectorName, MaskStrategy>> = {};
    for (const [name, s] of strategies) if (!sameStrategy(s, fallback)) perDetector[name] = s;
    const plan: MaskingPlan = {
      version: MASKING_PLAN_VERSION,
      rules: columnRules,
      detectors,
      ...(Object.keys(perDetector).length > 0 ? { detectorStrategies: perDetector } : {}),
      defaultDetectorStrategy: fallback,
      ...(copyOut ? { copyOut } : {}),
    };
    const valid = validateMaskingPlan(plan);
    if (!valid.ok) throw new Bad(`${valid.path}: ${valid.reason}`);
    return { ok: true, plan };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, reason: e.reason };
    throw e;
  }
}

function unwrap(types: (string | number)[]): string | number | (string | number)[] {
  return types.length === 1 ? types[0]! : types;
}
