export { DETECTOR_NAMES, type Detector, type DetectorMatch, type DetectorName } from './types.js';
export { DETECTORS, isDetectorName, scan } from './detectors/registry.js';
export { asciiProfile, textProfile } from './text-profile.js';
export { cardBrand, type CardBrand, IBAN_LENGTHS, isCardNumber, isIban, luhnValid } from './checksums.js';
export { isIpv4, isIpv6 } from './detectors/network.js';
export {
  createTokenizer,
  DEFAULT_PARTIAL_KEEP,
  MIN_KEY_BYTES,
  type MaskingKey,
  type MaskingKeyRing,
  partialMask,
  partialMaskAsciiBytes,
  partialMaskAsciiInPlace,
  REDACTION_MARKER_FORMAT,
  redactionMarker,
  type TokenFormat,
  tokenFormatForDetector,
  tokenFormatOf,
  type Tokenizer,
  tokenizeUnderEveryKey,
} from './strategies.js';
export {
  type ColumnAction,
  type ColumnRef,
  type ColumnRule,
  type ColumnStrategy,
  canonicalTypeName,
  compileColumnRules,
  globToRegExp,
  type MaskStrategy,
} from './column-rules.js';
export {
  type CellMasker,
  type CellMaskResult,
  type CompiledPlan,
  compileMaskingPlan,
  copyOutAllowed,
  MASKING_PLAN_VERSION,
  type MaskingPlan,
  MaskingTally,
  PLAN_LIMITS,
  type PlanValidation,
  type TextMaskResult,
  validateMaskingPlan,
} from './plan.js';
export { fromVerdictRules, toVerdictRules, type VerdictMaskingRule, type VerdictRulesDecoding } from './verdict-rules.js';
