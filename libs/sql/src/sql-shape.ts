// A statement's shape: its text with every literal and comment replaced by a placeholder of its
// kind, so that `select * from t where id = 1` and `... id = 2` share one key. An agent's traffic
// is a few shapes with many values; a cache by shape skips the parse for all but the first.
//
// The lexer follows PostgreSQL's (scan.l) with standard_conforming_strings on, as libpg-query
// does. Two texts with one key differ only inside literals and comments, so they are the same
// token sequence to the server's lexer and parse to trees that differ only in literal values.
// Anything this lexer is not sure to read as the server does (bit and hex strings, U& escapes,
// unterminated quotes or comments, numbers with trailing junk, a NUL) gives no shape: the caller
// parses as usual. Whether the facts of a statement depend on a literal's value is the facts
// extractor's to say (statement-facts.ts, onLiteralRead), not this file's.

/** A text's shape key and where its literals and comments lie in the text. */
export interface SqlShape {
  key: string;
  /** [start, end) of each replaced span, in increasing order, as UTF-16 offsets into the text. */
  spans: readonly (readonly [number, number])[];
}

// The placeholder: NUL never occurs in a PostgreSQL statement (texts with one have no shape),
// then one letter for the kind (s '', e E'', N N'', d $$, i small integer, n other number,
// c comment), so an integer never shares a key with a string.
const PLACEHOLDER_LENGTH = 2;
const placeholder = (kind: string): string => `\u0000${kind}`;

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
// ident_start [A-Za-z\200-\377_] and ident_cont [A-Za-z\200-\377_0-9$]; any non-ASCII code unit is a letter.
const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
const isIdentCont = (c: number): boolean => isIdentStart(c) || isDigit(c) || c === 36;
// A dollar-quote tag has no `$` and no leading digit.
const isTagCont = (c: number): boolean => isIdentStart(c) || isDigit(c);

// PostgreSQL 16+ numeric literals (underscores between digits; 0x, 0o, 0b integers).
const DEC = String.raw`\d(?:_?\d)*`;
const NUMBER = new RegExp(
  String.raw`^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:${DEC}(?:\.(?:${DEC})?)?|\.${DEC})(?:[eE][-+]?${DEC})?)$`,
);
const SMALL_INTEGER = /^\d{1,9}$/;

/** The shape of `sql`, or null when this lexer cannot be sure to read it as the server would. */
export function sqlShape(sql: string): SqlShape | null {
  const spans: [number, number][] = [];
  const parts: string[] = [];
  let copied = 0;
  const replace = (start: number, end: number, kind: string): void => {
    parts.push(sql.slice(copied, start), placeholder(kind));
    spans.push([start, end]);
    copied = end;
  };
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0) return null;
    if (isSpace(c)) {
      i++;
      continue;
    }
    // -- comment, to the end of the line (the newline is not part of it).
    if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      let j = i + 2;
      while (j < n && sql.charCodeAt(j) !== 10 && sql.charCodeAt(j) !== 13) j++;
      replace(i, j, 'c');
      i = j;
      continue;
    }
    // /* comment */, nested.
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42) {
          depth++;
          j += 2;
        } else if (sql.charCodeAt(j) === 42 && sql.charCodeAt(j + 1) === 47) {
          depth--;
          j += 2;
        } else j++;
      }
      if (depth > 0) return null;
      replace(i, j, 'c');
      i = j;
      continue;
    }
    if (c === 39) {
      const end = quoted(sql, i, false);
      if (end < 0 || continued(sql, end)) return null;
      replace(i, end, 's');
      i = end;
      continue;
    }
    if (c === 34) {
      // "quoted identifier": kept, it is a name; "" inside is a quote.
      let j = i + 1;
      for (;;) {
        if (j >= n) return null;
        if (sql.charCodeAt(j) === 34) {
          if (sql.charCodeAt(j + 1) === 34) j += 2;
          else break;
        } else j++;
      }
      i = j + 1;
      continue;
    }
    if (c === 36) {
      // $1 is a parameter, kept; $tag$...$tag$ is a string.
      if (isDigit(sql.charCodeAt(i + 1))) {
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (j < n && isIdentCont(sql.charCodeAt(j))) return null;
        i = j;
        continue;
      }
      let j = i + 1;
      if (j < n && isIdentStart(sql.charCodeAt(j))) while (j < n && isTagCont(sql.charCodeAt(j))) j++;
      if (sql.charCodeAt(j) !== 36) return null;
      const tag = sql.slice(i, j + 1);
      const close = sql.indexOf(tag, j + 1);
      if (close < 0) return null;
      replace(i, close + tag.length, 'd');
      i = close + tag.length;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i;
      for (;;) {
        const d = sql.charCodeAt(j);
        if (j < n && (isIdentCont(d) || d === 46)) j++;
        else if (
          (d === 43 || d === 45) &&
          /[eE]/.test(sql[j - 1] ?? '') &&
          isDigit(sql.charCodeAt(j + 1)) &&
          !/^0[xX]/.test(sql.slice(i, j))
        )
          j++;
        else break;
      }
      const text = sql.slice(i, j);
      if (!NUMBER.test(text)) return null;
      replace(i, j, SMALL_INTEGER.test(text) ? 'i' : 'n');
      i = j;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      const next = sql.charCodeAt(j);
      if (j === i + 1 && (next === 39 || (next === 38 && (c === 85 || c === 117)))) {
        // One letter right before a quote is a string prefix: E'' escapes, N'' is national
        // character; B'', X'' and U&'' (and U&"") are left to the parser.
        const prefix = String.fromCharCode(c).toLowerCase();
        if (prefix === 'e' || prefix === 'n') {
          const end = quoted(sql, j, prefix === 'e');
          if (end < 0 || continued(sql, end)) return null;
          replace(i, end, prefix === 'e' ? 'e' : 'N');
          i = end;
          continue;
        }
        return null;
      }
      i = j;
      continue;
    }
    // Anything else (operators, punctuation) is kept as it is.
    i++;
  }
  parts.push(sql.slice(copied));
  return { key: parts.join(''), spans };
}

/** The end of the quoted string starting at `at` (a `'`), or -1 when it does not end. */
function quoted(sql: string, at: number, backslashEscapes: boolean): number {
  const n = sql.length;
  let j = at + 1;
  for (;;) {
    if (j >= n) return -1;
    const c = sql.charCodeAt(j);
    if (backslashEscapes && c === 92) j += 2;
    else if (c === 39) {
      if (sql.charCodeAt(j + 1) === 39) j += 2;
      else return j + 1;
    } else j++;
  }
}

/**
 * Whether a string ending at `end` goes on: the server joins `'a'` and a `'b'` that follows after
 * whitespace with a newline in it (-- comments count as whitespace there), and reads the second
 * part in the first one's mode (an E'' string's backslash escapes carry over). Such texts get no
 * shape rather than a lexer that must follow the join.
 */
function continued(sql: string, end: number): boolean {
  let newline = false;
  let j = end;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (c === 10 || c === 13) newline = true;
    if (isSpace(c)) j++;
    else if (c === 45 && sql.charCodeAt(j + 1) === 45) while (j < sql.length && sql.charCodeAt(j) !== 10 && sql.charCodeAt(j) !== 13) j++;
    else return newline && c === 39;
  }
  return false;
}

/** Where offset `at` of a text lies in its shape key; undefined when it is inside a replaced span. */
export function keyOffset(shape: SqlShape, at: number): number | undefined {
  let shift = 0;
  for (const [start, end] of shape.spans) {
    if (end <= at) shift += end - start - PLACEHOLDER_LENGTH;
    else if (start < at) return undefined;
    else break;
  }
  return at - shift;
}

/** Where offset `at` of a shape key lies in a text of that shape. */
export function textOffset(shape: SqlShape, at: number): number {
  let shift = 0;
  for (const [start, end] of shape.spans) {
    // The span's placeholder starts at start - shift in the key.
    if (start - shift >= at) break;
    shift += end - start - PLACEHOLDER_LENGTH;
  }
  return at + shift;
}
