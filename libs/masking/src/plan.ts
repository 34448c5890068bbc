// The masking plan: plain JSON that travels in a verdict event, its validation, and its
// compiled form that the ingress applies to every cell.
import { type ColumnRef, type ColumnRule, type MaskStrategy, compileColumnRules } from './column-rules.js';
import { DETECTORS, isDetectorName, scan } from './detectors/registry.js';
import { asciiProfile, textProfile } from './text-profile.js';
import {
  type MaskingKeyRing,
  type TokenFormat,
  createTokenizer,
  partialMask,
  redactionMarker,
  tokenFormatForDetector,
  tokenFormatOf,
} from './strategies.js';
import type { Detector, DetectorName } from './types.js';

/** The plan format version this library reads and writes. */
export const MASKING_PLAN_VERSION = 1;

/**
 * A masking plan, plain JSON. Column rules first (first match wins); columns no rule matches
 * have the enabled `detectors` run on their text, each match masked with the detector's entry in
 * `detectorStrategies`, else with `defaultDetectorStrategy`.
 */
export interface MaskingPlan {
  readonly version: 1;
  readonly rules: readonly ColumnRule[];
  readonly detectors: readonly DetectorName[];
  readonly detectorStrategies?: Readonly<Partial<Record<DetectorName, MaskStrategy>>>;
  readonly defaultDetectorStrategy: MaskStrategy;
  /**
   * COPY TO output has no column description, so column rules cannot apply to it: only the
   * detectors can. `detectors` accepts that (every value a column rule masks is also found by a
   * detector); absent, COPY TO is refused under a plan whose column rules mask anything.
   */
  readonly copyOut?: 'detectors';
}

/** Whether COPY TO output may pass under `plan` with its detectors applied (see MaskingPlan.copyOut). */
export function copyOutAllowed(plan: MaskingPlan): boolean {
  if (plan.copyOut === 'detectors') return true;
  return plan.rules.every((r) => r.strategy.kind === 'keep' || r.strategy.kind === 'detect');
}

/** Why a plan was refused: the JSON path of the offending value and what is wrong with it. */
export type PlanValidation =
  | { readonly ok: true; readonly plan: MaskingPlan }
  | { readonly ok: false; readonly path: string; readonly reason: string };

/** Size limits that keep a plan small enough for an event and cheap to compile. */
export const PLAN_LIMITS = { rules: 500, globLength: 256, types: 32, maxPartialKeep: 64 } as const;

const MASK_KINDS = new Set(['redact', 'partial', 'null', 'tokenize']);
const COLUMN_KINDS = new Set([...MASK_KINDS, 'keep', 'detect']);
const RULE_KEYS = new Set(['connection', 'schema', 'table', 'column', 'type', 'strategy']);
const PLAN_KEYS = new Set(['version', 'rules', 'detectors', 'detectorStrategies', 'defaultDetectorStrategy', 'copyOut']);

class Invalid {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, allowed: Set<string>, path: string): void {
  for (const k of Object.keys(v)) if (!allowed.has(k)) throw new Invalid(`${path}.${k}`, 'unknown field');
}

function checkStrategy(v: unknown, path: string, kinds: Set<string>): void {
  if (!isObject(v) || typeof v['kind'] !== 'string' || !kinds.has(v['kind']))
    throw new Invalid(path, `must be an object whose kind is one of ${[...kinds].join(', ')}`);
  onlyKeys(v, v['kind'] === 'partial' ? new Set(['kind', 'keep']) : new Set(['kind']), path);
  const keep = v['keep'];
  if (keep !== undefined && (!Number.isInteger(keep) || (keep as number) < 0 || (keep as number) > PLAN_LIMITS.maxPartialKeep))
    throw new Invalid(`${path}.keep`, `must be an integer from 0 to ${PLAN_LIMITS.maxPartialKeep}`);
}

function checkRule(v: unknown, path: string): void {
  if (!isObject(v)) throw new Invalid(path, 'must be an object');
  onlyKeys(v, RULE_KEYS, path);
  for (const k of ['connection', 'schema', 'table', 'column'] as const) {
    const g = v[k];
    if (g !== undefined && (typeof g !== 'string' || g.length === 0 || g.length > PLAN_LIMITS.globLength))
      throw new Invalid(`${path}.${k}`, `must be a non-empty glob of at most ${PLAN_LIMITS.globLength} characters`);
  }
  const type = v['type'];
  if (type !== undefined) {
    const list = Array.isArray(type) ? type : [type];
    if (list.length === 0 || list.length > PLAN_LIMITS.types)
      throw new Invalid(`${path}.type`, `must name 1 to ${PLAN_LIMITS.types} types`);
    list.forEach((t, i) => {
      const ok =
        (typeof t === 'string' && t.length > 0 && t.length <= 64) ||
        (Number.isInteger(t) && (t as number) > 0 && (t as number) <= 0xffffffff);
      if (!ok) throw new Invalid(`${path}.type${Array.isArray(type) ? `[${i}]` : ''}`, 'must be a type name or a type OID');
    });
  }
  checkStrategy(v['strategy'], `${path}.strategy`, COLUMN_KINDS);
}

/**
 * Checks that `input` (parsed JSON from an event or a file) is a well-formed `MaskingPlan`:
 * known version, fields and detector names, no duplicates, strategies of known kinds, and the
 * size limits. Returns the plan (the same object, typed) or the first problem found.
 */
export function validateMaskingPlan(input: unknown): PlanValidation {
  try {
    if (!isObject(input)) throw new Invalid('$', 'must be an object');
    onlyKeys(input, PLAN_KEYS, '$');
    if (input['version'] !== MASKING_PLAN_VERSION) throw new Invalid('$.version', `must be ${MASKING_PLAN_VERSION}`);
    const rules = input['rules'];
    if (!Array.isArray(rules)) throw new Invalid('$.rules', 'must be an array');
    if (rules.length > PLAN_LIMITS.rules) throw new Invalid('$.rules', `must have at most ${PLAN_LIMITS.rules} rules`);
    for (const [i, r] of rules.entries()) checkRule(r, `$.rules[${i}]`);
    const detectors = input['detectors'];
    if (!Array.isArray(detectors)) throw new Invalid('$.detectors', 'must be an array');
    const seen = new Set<string>();
    detectors.forEach((d, i) => {
      if (!isDetectorName(d)) throw new Invalid(`$.detectors[${i}]`, 'unknown detector');
      if (seen.has(d)) throw new Invalid(`$.detectors[${i}]`, 'duplicate detector');
      seen.add(d);
    });
    const perDetector = input['detectorStrategies'];
    if (perDetector !== undefined) {
      if (!isObject(perDetector)) throw new Invalid('$.detectorStrategies', 'must be an object');
      for (const [name, s] of Object.entries(perDetector)) {
        if (!isDetectorName(name)) throw new Invalid(`$.detectorStrategies.${name}`, 'unknown detector');
        checkStrategy(s, `$.detectorStrategies.${name}`, MASK_KINDS);
      }
    }
    checkStrategy(input['defaultDetectorStrategy'], '$.defaultDetectorStrategy', MASK_KINDS);
    if (input['copyOut'] !== undefined && input['copyOut'] !== 'detectors')
      throw new Invalid('$.copyOut', 'must be "detectors" when given');
    return { ok: true, plan: input as unknown as MaskingPlan };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, path: e.path, reason: e.reason };
    throw e;
  }
}

/**
 * What to do with every cell of one column, from `CompiledPlan.forColumn`. `label` names the
 * column in tallies (`schema.table.column`, or just the column name when computed).
 */
export type CellMasker =
  | { readonly kind: 'keep'; readonly label: string }
  | { readonly kind: 'detect'; readonly label: string }
  | { readonly kind: 'column'; readonly label: string; readonly strategy: MaskStrategy };

/** `maskText`'s result: `text` is null when a fired detector's strategy is `null` (the whole cell becomes NULL). */
export interface TextMaskResult {
  readonly text: string | null;
  readonly fired: readonly DetectorName[];
}

/** `maskCell`'s result; `masked` is true when the value was changed by a column rule or a detector. */
export interface CellMaskResult {
  readonly value: string | null;
  readonly masked: boolean;
  readonly fired: readonly DetectorName[];
}

/** A plan ready to apply; pure apart from the key it holds. */
export interface CompiledPlan {
  readonly plan: MaskingPlan;
  /** What to do with the cells of `ref` (call once per column of a result description). */
  forColumn(ref: ColumnRef): CellMasker;
  /**
   * Runs the plan's detectors on free text and masks each matched span, leaving the rest intact.
   * `profile`, when given, is `textProfile(text)` (or `detectionProfile` of its bytes).
   */
  maskText(text: string, profile?: number): TextMaskResult;
  /** Masks one cell of a column; SQL NULL stays NULL. */
  maskCell(masker: CellMasker, value: string | null): CellMaskResult;
  /**
   * Asked before decoding a cell, it spares most cells the decoding. For the text that the
   * UTF-8 bytes `utf8[from, to)` hold:
   * - undefined when `maskText` would certainly leave it unchanged: the bytes are all ASCII and
   *   no detector of the plan can match a text of their profile and length;
   * - -1 when a byte is not ASCII (decode, and let `maskText` profile the text);
   * - else the text's profile, to pass to `maskText` so the text is not profiled twice.
   */
  detectionProfile(utf8: Uint8Array, from: number, to: number): number | undefined;
}

const NONE: readonly DetectorName[] = Object.freeze([]);
const MAX_REMEMBERED_TOKENS = 10_000;
const COLUMN_MARKER = redactionMarker('column');

function columnLabel(ref: ColumnRef): string {
  return [ref.schema, ref.table, ref.column ?? '?'].filter((p) => p !== undefined).join('.');
}

function applyStrategy(strategy: MaskStrategy, value: string, label: string, tokenFor: () => string): string | null {
  switch (strategy.kind) {
    case 'redact':
      return redactionMarker(label);
    case 'partial':
      return partialMask(value, strategy.keep);
    case 'null':
      return null;
    case 'tokenize':
      return tokenFor();
    default: {
      const never: never = strategy;
      throw new TypeError(`unknown strategy ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Compiles `plan` (already validated) with the key ring used by `tokenize`. Tokens are made with
 * `keyRing.current` only. Throws RangeError when the current key's secret is too short.
 */
export function compileMaskingPlan(plan: MaskingPlan, keyRing: MaskingKeyRing): CompiledPlan {
  const tokenizer = createTokenizer(keyRing.current);
  // Results repeat their values (the same e-mail on every page of a report): one HMAC per
  // distinct value and format, remembered for the life of the compiled plan, bounded.
  const tokens = new Map<string, string>();
  const tokenize = (value: string, format: TokenFormat): string => {
    const key = `${format}\u0000${value}`;
    let token = tokens.get(key);
    if (token === undefined) {
      token = tokenizer.tokenize(value, format);
      if (tokens.size >= MAX_REMEMBERED_TOKENS) tokens.clear();
      tokens.set(key, token);
    }
    return token;
  };
  const matchColumn = compileColumnRules(plan.rules);
  const detectors: Detector[] = plan.detectors.map((n) => DETECTORS[n]);
  const strategyOf = (name: DetectorName): MaskStrategy => plan.detectorStrategies?.[name] ?? plan.defaultDetectorStrategy;

  function maskText(text: string, profile?: number): TextMaskResult {
    const matches = scan(text, detectors, profile ?? textProfile(text));
    if (matches.length === 0) return { text, fired: NONE };
    const fired: DetectorName[] = [];
    let out = '';
    let at = 0;
    for (const m of matches) {
      if (!fired.includes(m.detector)) fired.push(m.detector);
      const span = text.slice(m.start, m.end);
      const masked = applyStrategy(strategyOf(m.detector), span, m.detector, () => tokenize(span, tokenFormatForDetector(m.detector)));
      if (masked === null) return { text: null, fired: detectorsIn(matches) };
      out += text.slice(at, m.start) + masked;
      at = m.end;
    }
    return { text: out + text.slice(at), fired };
  }

  // A column's cell is tokenized whole, in the format its shape gives: remembered by value alone,
  // so a repeated value costs one lookup, not the shape tests.
  const columnTokens = new Map<string, string>();
  const columnToken = (value: string): string => {
    let token = columnTokens.get(value);
    if (token === undefined) {
      token = tokenize(value, tokenFormatOf(value));
      if (columnTokens.size >= MAX_REMEMBERED_TOKENS) columnTokens.clear();
      columnTokens.set(value, token);
    }
    return token;
  };

  function columnValue(strategy: MaskStrategy, value: string): string | null {
    switch (strategy.kind) {
      case 'redact':
        return COLUMN_MARKER;
      case 'partial':
        return partialMask(value, strategy.keep);
      case 'null':
        return null;
      case 'tokenize':
        return columnToken(value);
      default: {
        const never: never = strategy;
        throw new TypeError(`unknown strategy ${JSON.stringify(never)}`);
      }
    }
  }

  return {
    plan,
    forColumn(ref) {
      const label = columnLabel(ref);
      const action = matchColumn(ref);
      if (!action || action.strategy.kind === 'detect') return { kind: 'detect', label };
      if (action.strategy.kind === 'keep') return { kind: 'keep', label };
      return { kind: 'column', label, strategy: action.strategy };
    },
    maskText,
    detectionProfile(utf8, from, to) {
      const profile = asciiProfile(utf8, from, to);
      if (profile < 0) return -1;
      for (const d of detectors) if (d.mayMatch(profile, to - from)) return profile;
      return undefined;
    },
    maskCell(masker, value) {
      if (value === null || masker.kind === 'keep') return { value, masked: false, fired: NONE };
      if (masker.kind === 'column') return { value: columnValue(masker.strategy, value), masked: true, fired: NONE };
      const r = maskText(value);
      return { value: r.text, masked: r.fired.length > 0, fired: r.fired };
    },
  };
}

function detectorsIn(matches: readonly { detector: DetectorName }[]): DetectorName[] {
  const out: DetectorName[] = [];
  for (const m of matches) if (!out.includes(m.detector)) out.push(m.detector);
  return out;
}

/**
 * Counts masked cells for an operator's view. Keys: `column:<label>` for cells a column rule
 * masked, `detector:<name>` for cells in which that detector fired (a cell counts once per
 * detector however many spans it matched). The caller owns and accumulates it.
 */
export class MaskingTally {
  // Counted per column masker and per detector name, keys spelled out only in toJSON: the
  // counting runs once per masked cell, on the rows' hot path.
  private readonly byColumn = new Map<CellMasker, number>();
  private readonly byDetector = new Map<DetectorName, number>();

  /** Adds one cell's outcome. */
  record(masker: CellMasker, result: CellMaskResult): void {
    if (!result.masked) return;
    if (masker.kind === 'column') this.byColumn.set(masker, (this.byColumn.get(masker) ?? 0) + 1);
    for (const d of result.fired) this.byDetector.set(d, (this.byDetector.get(d) ?? 0) + 1);
  }

  /** The counts as a plain object with sorted keys, e.g. `{ "column:public.customers.card": 3, "detector:email": 5 }`. */
  toJSON(): Record<string, number> {
    const counts = new Map<string, number>();
    const add = (key: string, n: number): void => {
      counts.set(key, (counts.get(key) ?? 0) + n);
    };
    for (const [masker, n] of this.byColumn) add(`column:${masker.label}`, n);
    for (const [name, n] of this.byDetector) add(`detector:${name}`, n);
    const out: Record<string, number> = {};
    for (const k of [...counts.keys()].sort()) out[k] = counts.get(k)!;
    return out;
  }
}
