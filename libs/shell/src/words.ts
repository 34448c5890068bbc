// A shell word as bash reads it: its value when the text alone fixes it (quotes removed,
// escapes applied), or its source text when an expansion, substitution or glob decides it at
// run time, and whether it could turn into an option (a word starting with `-`) when it runs.
import sh, { type Node } from 'mvdan-sh';

const { syntax } = sh;

/** One word of a command. */
export interface WordValue {
  /** The value when `literal`, else the word's source text. */
  text: string;
  /** True when the text alone fixes the value: no expansion, substitution, glob, brace or tilde. */
  literal: boolean;
  /**
   * True when the word may be, or expand to, an option: a literal starting with `-`, or a
   * non-literal word whose value is not pinned to start otherwise (an unquoted expansion may
   * split into several words, any of them an option).
   */
  mayBeOption: boolean;
}

/** Reads word nodes against the UTF-8 bytes they were parsed from (positions are byte offsets). */
export class WordReader {
  constructor(private readonly bytes: Buffer) {}

  /** The source text of a node. */
  source(node: Node): string {
    return this.bytes.subarray(node.Pos().Offset(), node.End().Offset()).toString('utf8');
  }

  word(node: Node): WordValue {
    let value = '';
    let literal = true;
    let split = false;
    // The value known before the first part decided at run time: it fixes the first character.
    let prefix: string | null = null;
    const dynamic = (): void => {
      if (literal) prefix = value;
      literal = false;
    };
    const parts: Node[] = node.Parts ?? [];
    parts.forEach((part, i) => {
      switch (syntax.NodeType(part)) {
        case 'Lit': {
          const lit = unquotedLit(part.Value as string, i === 0);
          value += lit.value;
          if (lit.expands) dynamic();
          break;
        }
        case 'SglQuoted': {
          const v = part.Dollar ? ansiC(part.Value as string) : (part.Value as string);
          if (v === null) dynamic();
          else value += v;
          break;
        }
        case 'DblQuoted': {
          // $"..." is translated through the locale's message catalog at run time.
          if (part.Dollar) {
            dynamic();
            break;
          }
          for (const inner of (part.Parts ?? []) as Node[]) {
            if (syntax.NodeType(inner) === 'Lit') value += doubleQuotedLit(inner.Value as string);
            else dynamic();
          }
          break;
        }
        case 'ProcSubst':
          // <(...) becomes one path, /dev/fd/<n>: never split, never an option.
          if (literal) prefix = `${value}/`;
          literal = false;
          break;
        default:
          // ParamExp, CmdSubst, ArithmExp, ProcSubst, ExtGlob, BraceExp: unquoted, so the result
          // is also split into words and globbed.
          dynamic();
          split = true;
      }
    });
    if (literal) return { text: value, literal, mayBeOption: value.length > 1 && value.startsWith('-') };
    // prefix is set inside dynamic(): TypeScript cannot see that assignment.
    const known = (prefix as string | null) ?? '';
    return { text: this.source(node), literal, mayBeOption: split || known === '' || known.startsWith('-') };
  }
}

const GLOB = new Set(['*', '?']);

/**
 * An unquoted literal's value; when bash expands it (a glob `*`, `?`, `[...]`, a brace
 * expansion `{a,b}`, `{1..3}`, a leading tilde), the value before the expansion and `expands`.
 */
function unquotedLit(raw: string, wordStart: boolean): { value: string; expands: boolean } {
  // ~, ~user, ~+ and ~- become absolute paths: the value is unknown but never an option.
  if (wordStart && raw.startsWith('~')) return { value: '~', expands: true };
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const next = raw[i + 1];
      i++;
      // backslash-newline is a line continuation: both vanish
      if (next !== undefined && next !== '\n') out += next;
      continue;
    }
    if (GLOB.has(c)) return { value: out, expands: true };
    if (c === '[' && raw.indexOf(']', i + 1) > 0) return { value: out, expands: true };
    if (c === '{') {
      const close = raw.indexOf('}', i + 1);
      const body = close > 0 ? raw.slice(i + 1, close) : '';
      if (body.includes(',') || body.includes('..')) return { value: out, expands: true };
    }
    out += c;
  }
  return { value: out, expands: false };
}

/** Inside double quotes a backslash escapes only `$`, backquote, `"`, `\` and newline. */
function doubleQuotedLit(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    const next = raw[i + 1];
    if (c === '\\' && next !== undefined && '$`"\\\n'.includes(next)) {
      if (next !== '\n') out += next;
      i++;
    } else out += c;
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

/** The value of a `$'...'` string (bash's ANSI-C quoting); null for escapes it does not know. */
export function ansiC(raw: string): string | null {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[i + 1];
    if (e === undefined) return null;
    i++;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const digits = (re: RegExp, max: number, base: number): number | null => {
      let s = '';
      while (s.length < max && re.test(raw[i + 1] ?? '')) s += raw[++i];
      return s === '' ? null : Number.parseInt(s, base);
    };
    let code: number | null;
    if (/[0-7]/.test(e)) {
      i--;
      code = digits(/[0-7]/, 3, 8);
    } else if (e === 'x') code = digits(/[0-9a-fA-F]/, 2, 16);
    else if (e === 'u') code = digits(/[0-9a-fA-F]/, 4, 16);
    else if (e === 'U') code = digits(/[0-9a-fA-F]/, 8, 16);
    else return null; // \cX and the rest: not worth guessing
    if (code === null || code === 0 || code > 0x10ffff) return null;
    out += String.fromCodePoint(code);
  }
  return out;
}
