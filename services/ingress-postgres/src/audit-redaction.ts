// The gateway's own audit redaction: what a RequestObserved or ResponseObserved records of
// statement text, bound parameters, sample rows and error messages, with every value a
// detector of @agentgate/masking finds replaced by its marker (`[REDACTED:card]`). It is always
// on and independent of policy: the request event is written before any verdict exists, and an
// audit log that keeps a pasted card number or an `ALTER ROLE ... PASSWORD` keeps it forever.
// Only what is recorded changes; the statement sent to the target is never touched.
//
// In statement text only literals and comments are searched (their spans from sqlShape, which
// lexes as the server does): identifiers and keywords are the statement's structure, which the
// policy decides on, and a column named `email` is not personal data. A redacted literal stays
// one literal of the same kind, so the policy processor, which parses the recorded text, sees
// the same statement kinds, tables and functions.
import { DETECTOR_NAMES, DETECTORS, type Detector, type DetectorMatch, redactionMarker, scan, textProfile } from '@agentgate/masking';
import { sqlShape } from '@agentgate/sql';

/** A recorded text after redaction; `text` is the very input string when nothing matched. */
export interface RedactedText {
  readonly text: string;
  readonly masked: boolean;
  /** The detectors that fired (and `password` for the role rule), each once, in order of first match. */
  readonly detectors: readonly string[];
}

const ALL_DETECTORS: readonly Detector[] = DETECTOR_NAMES.map((name) => DETECTORS[name]);

/** The label of literals replaced by the role-statement rule. */
export const PASSWORD_LABEL = 'password';

/**
 * Statements whose string literals may be passwords or carry one (a connection string):
 * CREATE/ALTER ROLE and USER (PASSWORD, including the SCRAM verifier psql's \password sends),
 * user mappings' and foreign servers' OPTIONS, subscriptions' CONNECTION. No detector can tell
 * a password from any other string, so every string literal of these is redacted.
 */
export const PASSWORD_STATEMENT_KINDS: ReadonlySet<string> = new Set([
  'CreateRoleStmt',
  'AlterRoleStmt',
  'CreateUserMappingStmt',
  'AlterUserMappingStmt',
  'CreateForeignServerStmt',
  'AlterForeignServerStmt',
  'CreateSubscriptionStmt',
  'AlterSubscriptionStmt',
]);

const NOTHING: readonly string[] = Object.freeze([]);

function unchanged(text: string): RedactedText {
  return { text, masked: false, detectors: NOTHING };
}

/** Whether some detector's prefilter passes on `text`; the prefilters are monotone, so false also holds for every substring. */
function mayMatchAny(text: string): boolean {
  const profile = textProfile(text);
  return ALL_DETECTORS.some((d) => d.mayMatch(profile, text.length));
}

/** `text` with each match replaced by its detector's marker; the names that fired are added to `fired`. */
function replaceMatches(text: string, matches: readonly DetectorMatch[], fired: Set<string>): string {
  let out = '';
  let copied = 0;
  for (const m of matches) {
    out += text.slice(copied, m.start) + redactionMarker(m.detector);
    copied = m.end;
    fired.add(m.detector);
  }
  return out + text.slice(copied);
}

/** One bound parameter, sample cell or error text with every detector match redacted; null stays null. */
export function redactValue(value: string | null): string | null {
  if (value === null || !mayMatchAny(value)) return value;
  const matches = scan(value, ALL_DETECTORS);
  if (matches.length === 0) return value;
  return replaceMatches(value, matches, new Set());
}

/** Every value of `values` redacted; the same array when none changed. */
export function redactValues(values: (string | null)[]): (string | null)[] {
  let out: (string | null)[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const r = redactValue(v);
    if (r !== v) {
      out ??= values.slice();
      out[i] = r;
    }
  }
  return out ?? values;
}

/** A literal's or comment's kind, read from its first characters (see sqlShape). */
type SpanKind = 'string' | 'escape-string' | 'dollar' | 'line-comment' | 'block-comment' | 'number';

function spanKind(sql: string, start: number): SpanKind {
  const c = sql[start];
  if (c === "'") return 'string';
  if (c === '$') return 'dollar';
  if (c === '-') return 'line-comment';
  if (c === '/') return 'block-comment';
  if (c === 'E' || c === 'e') return 'escape-string';
  // N'' is a plain string with a prefix; the only other spans are numbers.
  if (c === 'N' || c === 'n') return 'string';
  return 'number';
}

/** Where the searchable content of a span lies: inside the quotes, tags or comment delimiters. */
function contentBounds(sql: string, start: number, end: number, kind: SpanKind): [number, number] {
  switch (kind) {
    case 'string':
      // 'x' or N'x'
      return [sql[start] === "'" ? start + 1 : start + 2, end - 1];
    case 'escape-string':
      return [start + 2, end - 1];
    case 'dollar': {
      const tagLength = sql.indexOf('$', start + 1) - start + 1;
      return [start + tagLength, end - tagLength];
    }
    case 'line-comment':
      return [start + 2, end];
    case 'block-comment':
      return [start + 2, end - 2];
    case 'number':
      return [start, end];
    default: {
      const unknown: never = kind;
      throw new Error(`unknown span kind ${String(unknown)}`);
    }
  }
}

/**
 * The redacted form of one literal or comment. Markers hold no quote, `$`, backslash, `*`,
 * `/` or newline, so a marker inside a literal or comment never ends it. A match that cut an
 * escape (`''`, `\'`) or a nested comment delimiter in two could still change how the span
 * lexes: the result is checked to lex as one span of the same kind, else the whole content
 * becomes the marker. A number cannot hold a marker: it becomes `0` followed by the marker in
 * a comment, still one numeric constant to the parser.
 */
function redactSpan(
  original: string,
  kind: SpanKind,
  from: number,
  to: number,
  matches: readonly DetectorMatch[],
  fired: Set<string>,
): string {
  if (kind === 'number') {
    for (const m of matches) fired.add(m.detector);
    return `0/*${redactionMarker(matches[0]!.detector)}*/`;
  }
  const content = original.slice(from, to);
  const redacted = original.slice(0, from) + replaceMatches(content, matches, fired) + original.slice(to);
  const before = sqlShape(original);
  const after = sqlShape(redacted);
  if (after !== null && before !== null && after.key === before.key && after.spans.length === 1) return redacted;
  return original.slice(0, from) + redactionMarker(matches[0]!.detector) + original.slice(to);
}

/**
 * The statement text as the audit log records it. `statementKinds` are the parser's kinds for
 * the text (a role statement's string literals are all redacted as passwords). Text the lexer
 * cannot follow (sqlShape gives null) is searched whole, and a role statement's text is then
 * cut before its first quote, since no literal can be told apart.
 */
export function redactSqlText(sql: string, statementKinds: readonly string[]): RedactedText {
  const passwords = statementKinds.some((k) => PASSWORD_STATEMENT_KINDS.has(k));
  // Fast path: no detector can match any part of the text, and no password rule applies.
  if (!passwords && !mayMatchAny(sql)) return unchanged(sql);
  const shape = sqlShape(sql);
  const fired = new Set<string>();
  if (shape === null) {
    let text = sql;
    if (passwords) {
      const quote = text.search(/['$]/);
      if (quote >= 0) {
        text = `${text.slice(0, quote)}${redactionMarker(PASSWORD_LABEL)}`;
        fired.add(PASSWORD_LABEL);
      }
    }
    const matches = scan(text, ALL_DETECTORS);
    if (matches.length > 0) text = replaceMatches(text, matches, fired);
    return fired.size === 0 ? unchanged(sql) : { text, masked: true, detectors: [...fired] };
  }
  let out: string | undefined;
  let copied = 0;
  for (const [start, end] of shape.spans) {
    const kind = spanKind(sql, start);
    let replacement: string | undefined;
    if (passwords && (kind === 'string' || kind === 'escape-string' || kind === 'dollar')) {
      replacement = `'${redactionMarker(PASSWORD_LABEL)}'`;
      fired.add(PASSWORD_LABEL);
    } else {
      const [from, to] = contentBounds(sql, start, end, kind);
      const content = sql.slice(from, to);
      const matches = scan(content, ALL_DETECTORS);
      if (matches.length > 0) replacement = redactSpan(sql.slice(start, end), kind, from - start, to - start, matches, fired);
    }
    if (replacement === undefined) continue;
    out = (out ?? '') + sql.slice(copied, start) + replacement;
    copied = end;
  }
  if (out === undefined) return unchanged(sql);
  return { text: out + sql.slice(copied), masked: true, detectors: [...fired] };
}
