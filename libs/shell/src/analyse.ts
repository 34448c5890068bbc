// analyseCommand(text) -> ShellFacts: every simple command a shell command line runs, as bash
// would read it (mvdan/sh's parser, bash variant), with wrappers peeled off (sudo, env, xargs,
// sh -c '...', find -exec ...), and every reason the answer may be incomplete. Pure and sync;
// never throws. The target account's login shell is assumed to be bash or a POSIX sh: sshd
// runs an exec request as `$SHELL -c <command>`.
import sh, { type Node } from 'mvdan-sh';
import { isWrapper, peel } from './wrappers.js';
import { WordReader, type WordValue } from './words.js';

const { syntax } = sh;

/** One redirection: its operator and target (null for here-documents and here-strings). */
export interface Redirection {
  op: string;
  target: string | null;
}

/** One simple command, after its wrappers were peeled off. */
export interface ShellCommand {
  /** The command name after unwrapping (basename: /bin/rm -> rm), or its source text when not literal. */
  program: string;
  /** The words after unwrapping, argv[0] as written (unquoted); a word that is not literal appears as its source text. */
  argv: string[];
  /** Per argv word: true when the text alone fixes its value (no expansion, substitution or glob). */
  literal: boolean[];
  /** Options as the program sees them: -rf -> r, f; --force -> force; --color=auto -> color; up to `--`. */
  options: string[];
  /**
   * True when the program may see options not in `options`: a word decided at run time could
   * expand to one (`rm $X`, `rm *`), or xargs adds words read from stdin.
   */
  optionsOpen: boolean;
  /** The wrappers peeled off, outermost first (sudo, env, xargs, bash for `bash -c`, find for -exec). */
  wrappers: string[];
  redirections: Redirection[];
}

/** What a command line runs, as far as its text tells. */
export interface ShellFacts {
  /** Every simple command anywhere (pipelines, lists, subshells, bodies, `$(...)`, `sh -c`), in source order. */
  commands: ShellCommand[];
  /** Sorted unique reasons the facts may be incomplete (see UNKNOWN_REASONS); empty when complete. */
  unknown: string[];
  /** Targets of output redirections (> >> &> &>> >| <> and >& to a file), literal or source text. */
  writes: string[];
}

/** Every reason `unknown` may hold; the analysis-* ones come from the pool (analyser-pool.ts) only. */
export const UNKNOWN_REASONS = [
  'alias',
  'analysis-closed',
  'analysis-failed',
  'analysis-overloaded',
  'analysis-timeout',
  'arithmetic',
  'command-substitution',
  'dynamic-program',
  'eval',
  'expansion-operator',
  'function-definition',
  'nested-shell-dynamic',
  'parse-error',
  'process-substitution',
  'program-path',
  'sensitive-assignment',
  'source',
  'too-deep',
  'too-long',
  'unsupported-syntax',
  'wrapper-options',
] as const;
export type UnknownReason = (typeof UNKNOWN_REASONS)[number];

/**
 * Longest command line analysed, in UTF-8 bytes; longer ones are `too-long` (and denied by any
 * policy that denies unknown commands). The GopherJS parser's node wrappers cost 1-2 ms for a
 * short command and about 50 ms a KiB on long ones (measured: 2.8 KB, 125 ms), on the policy
 * processor's event loop: the cap bounds one request's analysis to about 200 ms. A command
 * line of 4 KiB is a script, which belongs in a file the policy can allow by name.
 */
export const MAX_COMMAND_BYTES = 4 * 1024;
/** Nested `sh -c` levels followed; deeper is `too-deep`. */
export const MAX_NESTED_SHELLS = 8;
// Syntax nesting walked; the parser itself gives up (stack overflow) somewhat deeper.
const MAX_SYNTAX_DEPTH = 200;

// Redirection operators by mvdan/sh's token numbers (syntax.RedirOperator).
const REDIRECT_OPS: Record<number, string> = {
  54: '>',
  55: '>>',
  56: '<',
  57: '<>',
  58: '<&',
  59: '>&',
  60: '>|',
  61: '<<',
  62: '<<-',
  63: '<<<',
  64: '&>',
  65: '&>>',
};
const WRITE_OPS = new Set(['>', '>>', '<>', '>|', '&>', '&>>']);
const NO_TARGET_OPS = new Set(['<<', '<<-', '<<<']);
// [[ a -eq b ]] and friends evaluate both sides as arithmetic; -v and -R name a variable,
// whose subscript is arithmetic too (mvdan/sh's BinTestOperator / UnTestOperator numbers).
const ARITHMETIC_TESTS = new Set([116, 117, 118, 119, 120, 121]);
const VARIABLE_TESTS = new Set([110, 111]);

// Assigning these changes which program runs or how the shell reads what follows.
const SENSITIVE_NAMES =
  /^(PATH|IFS|ENV|BASH_ENV|CDPATH|GLOBIGNORE|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|EXECIGNORE|BASH_LOADABLES_PATH|LD_.*)$/;
// A program named by a path runs from there: only the system's own directories are trusted.
const SYSTEM_DIRS = new Set(['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);
// Programs that run a string, a file or a history entry as shell code.
const EVALUATORS: Record<string, UnknownReason> = {
  eval: 'eval',
  trap: 'eval',
  fc: 'eval',
  source: 'source',
  '.': 'source',
  alias: 'alias',
};
const NUMBER = /^(0[xX][0-9a-fA-F]+|[0-9]+(#[0-9a-zA-Z@_]+)?)$/;

class Analysis {
  readonly commands: ShellCommand[] = [];
  readonly unknown = new Set<string>();
  readonly writes: string[] = [];

  /** Parses and walks one script (the command line, or the script of a nested `sh -c`). */
  script(text: string, wrappers: readonly string[], optionsOpen: boolean, nesting: number): boolean {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > MAX_COMMAND_BYTES) {
      this.unknown.add('too-long');
      return false;
    }
    if (nesting > MAX_NESTED_SHELLS) {
      this.unknown.add('too-deep');
      return false;
    }
    // sshd hands the command to the shell as a C string: it would end at a NUL byte.
    if (text.includes('\u0000')) {
      this.unknown.add('parse-error');
      return false;
    }
    let file: Node;
    try {
      file = syntax.NewParser().Parse(text, '');
    } catch (err) {
      this.unknown.add(err instanceof RangeError ? 'too-deep' : 'parse-error');
      return false;
    }
    new Walker(this, new WordReader(bytes), wrappers, optionsOpen, nesting).stmts(file.Stmts, 0);
    return true;
  }
}

class Walker {
  constructor(
    private readonly a: Analysis,
    private readonly words: WordReader,
    private readonly wrappers: readonly string[],
    private readonly optionsOpen: boolean,
    private readonly nesting: number,
  ) {}

  stmts(list: Node[] | null | undefined, depth: number): void {
    for (const s of list ?? []) this.stmt(s, depth);
  }

  stmt(s: Node, depth: number): void {
    if (!s) return;
    if (depth > MAX_SYNTAX_DEPTH) {
      this.a.unknown.add('too-deep');
      return;
    }
    const redirections: Redirection[] = [];
    for (const r of (s.Redirs ?? []) as Node[]) {
      // An operator this table does not know is treated as a write (`op<n>`).
      const op = REDIRECT_OPS[r.Op as number] ?? `op${r.Op}`;
      const target = NO_TARGET_OPS.has(op) ? null : this.words.word(r.Word);
      redirections.push({ op, target: target?.text ?? null });
      // >& and <& duplicate a descriptor (2>&1, >&-); >& followed by a file name writes it.
      const dup = target?.literal === true && /^(\d+|-)$/.test(target.text);
      const writes = target !== null && (WRITE_OPS.has(op) || (op === '>&' && !dup) || op.startsWith('op'));
      if (writes && !this.a.writes.includes(target.text)) this.a.writes.push(target.text);
      this.node(r.Word, depth + 1, false);
      this.node(r.Hdoc, depth + 1, false);
    }
    this.command(s.Cmd, redirections, depth + 1);
  }

  command(cmd: Node, redirections: Redirection[], depth: number): void {
    if (!cmd) return;
    switch (syntax.NodeType(cmd)) {
      case 'CallExpr': {
        for (const as of (cmd.Assigns ?? []) as Node[]) this.assign(as, depth);
        const args = (cmd.Args ?? []) as Node[];
        for (const w of args) this.node(w, depth, false);
        if (args.length > 0)
          this.simple(
            args.map((w) => this.words.word(w)),
            [...this.wrappers],
            redirections,
            this.optionsOpen,
          );
        return;
      }
      case 'DeclClause': {
        // declare/local/export/readonly/typeset/nameref: a builtin whose words are assignments.
        const variant = cmd.Variant.Value as string;
        const argv = [variant];
        const options: string[] = [];
        for (const as of (cmd.Args ?? []) as Node[]) {
          this.assign(as, depth);
          argv.push(this.words.source(as));
          if (as.Naked && as.Value) {
            const w = this.words.word(as.Value);
            if (!w.literal) this.a.unknown.add('sensitive-assignment');
            else if (w.text.includes('[')) this.a.unknown.add('arithmetic');
            else if (w.text.startsWith('-') || w.text.startsWith('+')) options.push(...w.text.slice(1));
          }
        }
        // A name reference (declare -n) makes later expansions of the name evaluate its target's text.
        if (options.includes('n')) this.a.unknown.add('expansion-operator');
        this.push({
          program: variant,
          argv,
          literal: argv.map(() => true),
          options,
          optionsOpen: this.optionsOpen,
          wrappers: [...this.wrappers],
          redirections,
        });
        return;
      }
      case 'LetClause': {
        this.a.unknown.add('arithmetic');
        this.push({
          program: 'let',
          argv: ['let', ...((cmd.Exprs ?? []) as Node[]).map((e) => this.words.source(e))],
          literal: [],
          options: [],
          optionsOpen: this.optionsOpen,
          wrappers: [...this.wrappers],
          redirections,
        });
        return;
      }
      case 'FuncDecl':
        this.a.unknown.add('function-definition');
        this.stmt(cmd.Body, depth + 1);
        return;
      default:
        this.node(cmd, depth, false);
    }
  }

  assign(as: Node, depth: number): void {
    const name = as.Name?.Value as string | undefined;
    if (name !== undefined && SENSITIVE_NAMES.test(name)) this.a.unknown.add('sensitive-assignment');
    this.node(as.Index, depth + 1, true);
    this.node(as.Value, depth + 1, false);
    this.node(as.Array, depth + 1, false);
  }

  /** Every other node: commands nested anywhere inside, and what makes the facts unknown. */
  node(n: Node, depth: number, arithmetic: boolean): void {
    if (!n) return;
    if (depth > MAX_SYNTAX_DEPTH) {
      this.a.unknown.add('too-deep');
      return;
    }
    const d = depth + 1;
    const type = syntax.NodeType(n);
    switch (type) {
      case 'Lit':
      case 'SglQuoted':
        return;
      case 'Word':
        // Arithmetic reads a name's value as an expression in turn: `a[$(cmd)]` in a variable runs cmd.
        if (arithmetic && !(n.Parts?.length === 1 && syntax.NodeType(n.Parts[0]) === 'Lit' && NUMBER.test(n.Parts[0].Value)))
          this.a.unknown.add('arithmetic');
        for (const p of (n.Parts ?? []) as Node[]) this.node(p, d, false);
        return;
      case 'DblQuoted':
        for (const p of (n.Parts ?? []) as Node[]) this.node(p, d, false);
        return;
      case 'ParamExp':
        if (arithmetic) this.a.unknown.add('arithmetic');
        // ${!x} expands the variable x names, and ${x@P} expands x's value as a prompt string:
        // both evaluate text the parse never saw (a value like a[$(cmd)] or $(cmd) runs cmd).
        if (n.Excl || /@[A-Za-z]\}$/.test(this.words.source(n))) this.a.unknown.add('expansion-operator');
        this.node(n.Index, d, true);
        if (n.Slice) {
          this.node(n.Slice.Offset, d, true);
          this.node(n.Slice.Length, d, true);
        }
        if (n.Repl) {
          this.node(n.Repl.Orig, d, false);
          this.node(n.Repl.With, d, false);
        }
        if (n.Exp) this.node(n.Exp.Word, d, false);
        return;
      case 'CmdSubst':
        this.a.unknown.add('command-substitution');
        this.stmts(n.Stmts, d);
        return;
      case 'ProcSubst':
        this.a.unknown.add('process-substitution');
        this.stmts(n.Stmts, d);
        return;
      case 'ArithmExp':
      case 'ArithmCmd':
      case 'ParenArithm':
      case 'UnaryArithm':
        this.node(n.X, d, true);
        return;
      case 'BinaryArithm':
        this.node(n.X, d, true);
        this.node(n.Y, d, true);
        return;
      case 'ExtGlob':
      case 'BraceExp':
        for (const e of (n.Elems ?? []) as Node[]) this.node(e, d, false);
        return;
      case 'Subshell':
      case 'Block':
        this.stmts(n.Stmts, d);
        return;
      case 'BinaryCmd':
        this.stmt(n.X, d);
        this.stmt(n.Y, d);
        return;
      case 'IfClause':
        this.stmts(n.Cond, d);
        this.stmts(n.Then, d);
        this.node(n.Else, d, false);
        return;
      case 'WhileClause':
        this.stmts(n.Cond, d);
        this.stmts(n.Do, d);
        return;
      case 'ForClause':
        this.node(n.Loop, d, false);
        this.stmts(n.Do, d);
        return;
      case 'WordIter':
        for (const w of (n.Items ?? []) as Node[]) this.node(w, d, false);
        return;
      case 'CStyleLoop':
        this.node(n.Init, d, true);
        this.node(n.Cond, d, true);
        this.node(n.Post, d, true);
        return;
      case 'CaseClause':
        this.node(n.Word, d, false);
        for (const item of (n.Items ?? []) as Node[]) {
          for (const p of (item.Patterns ?? []) as Node[]) this.node(p, d, false);
          this.stmts(item.Stmts, d);
        }
        return;
      case 'TestClause':
        this.node(n.X, d, false);
        return;
      case 'BinaryTest':
        this.node(n.X, d, ARITHMETIC_TESTS.has(n.Op as number));
        this.node(n.Y, d, ARITHMETIC_TESTS.has(n.Op as number));
        return;
      case 'UnaryTest':
        this.node(n.X, d, VARIABLE_TESTS.has(n.Op as number));
        return;
      case 'ParenTest':
        this.node(n.X, d, false);
        return;
      case 'TimeClause':
      case 'CoprocClause':
        this.stmt(n.Stmt, d);
        return;
      case 'ArrayExpr':
        for (const e of (n.Elems ?? []) as Node[]) {
          this.node(e.Index, d, true);
          this.node(e.Value, d, false);
        }
        return;
      case 'Stmt':
        this.stmt(n, d);
        return;
      case 'CallExpr':
      case 'DeclClause':
      case 'LetClause':
      case 'FuncDecl':
        this.command(n, [], d);
        return;
      default:
        // A construct this walker does not know may hide commands: say so rather than skip it.
        this.a.unknown.add('unsupported-syntax');
    }
  }

  /** One simple command's words: wrappers peeled off, the rest recorded. */
  simple(words: WordValue[], wrappers: string[], redirections: Redirection[], optionsOpen: boolean): void {
    let at = 0;
    let open = optionsOpen;
    for (;;) {
      const w = words[at]!;
      if (!w.literal) {
        this.a.unknown.add('dynamic-program');
        break;
      }
      const program = basename(w.text);
      if (w.text.includes('/') && !SYSTEM_DIRS.has(w.text.slice(0, w.text.lastIndexOf('/')))) this.a.unknown.add('program-path');
      if (!isWrapper(program)) break;
      const peeled = peel(program, words, at);
      if (peeled === null || peeled.kind === 'alone') break;
      if (peeled.kind === 'unknown') {
        this.a.unknown.add('wrapper-options');
        break;
      }
      if (peeled.kind === 'script') {
        const script = words[peeled.script]!;
        if (!script.literal) {
          this.a.unknown.add('nested-shell-dynamic');
          break;
        }
        // The script's own commands are recorded; the shell is not a command of its own.
        if (!this.a.script(script.text, [...wrappers, program], open, this.nesting + 1)) {
          // A script that cannot be read is kept as the shell command it is.
          this.a.unknown.add('nested-shell-dynamic');
          break;
        }
        return;
      }
      for (const assigned of peeled.assigned)
        if (SENSITIVE_NAMES.test(assigned.slice(0, assigned.indexOf('=')))) this.a.unknown.add('sensitive-assignment');
      // chroot runs the program found under the new root: its name says nothing.
      if (program === 'chroot') this.a.unknown.add('program-path');
      // xargs appends words read from stdin: any of them may be an option.
      if (program === 'xargs') open = true;
      wrappers.push(program);
      at = peeled.next;
    }
    const rest = words.slice(at);
    const first = rest[0]!;
    const program = first.literal ? basename(first.text) : first.text;
    const reason = EVALUATORS[program];
    if (first.literal && reason) this.a.unknown.add(reason);
    const found = program === 'find' ? findOptions(rest) : options(rest);
    if (first.literal && namesVariables(program, found.options) && rest.slice(1).some((x) => !x.literal || x.text.includes('[')))
      this.a.unknown.add('arithmetic');
    this.push({
      program,
      argv: rest.map((x) => x.text),
      literal: rest.map((x) => x.literal),
      options: found.options,
      optionsOpen: open || found.open,
      wrappers,
      redirections,
    });
    if (program === 'find' && first.literal) for (const exec of found.execs) this.simple(exec, [...wrappers, 'find'], [], open);
  }

  push(c: ShellCommand): void {
    this.a.commands.push(c);
  }
}

/**
 * Builtins that take variable names from their arguments: bash expands an array subscript in
 * such a name (`printf -v 'a[$(id)]' x` runs id), so a name with `[`, or one decided at run time,
 * is code the facts do not show.
 */
function namesVariables(program: string, options: readonly string[]): boolean {
  if (program === 'printf') return options.includes('v');
  if (program === 'test' || program === '[') return options.includes('v') || options.includes('R');
  return ['read', 'mapfile', 'readarray', 'unset', 'getopts', 'wait'].includes(program);
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 || i === path.length - 1 ? path : path.slice(i + 1);
}

/**
 * Options the usual (GNU getopt) way: clusters of short options, long options up to `=`, in
 * any position (GNU permutes), until `--`. An option's argument (`grep -e -x`) is read as
 * options too: more options than the program sees, never fewer.
 */
function options(words: readonly WordValue[]): { options: string[]; open: boolean; execs: WordValue[][] } {
  const out: string[] = [];
  let open = false;
  for (const w of words.slice(1)) {
    if (!w.literal) {
      open = open || w.mayBeOption;
      continue;
    }
    const t = w.text;
    if (t === '--') break;
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      out.push(t.slice(2, eq < 0 ? undefined : eq));
    } else if (t.startsWith('-') && t.length > 1) out.push(...t.slice(1));
  }
  return { options: [...new Set(out)], open, execs: [] };
}

const FIND_EXECS = new Set(['-exec', '-execdir', '-ok', '-okdir']);

/** find's words: every `-primary` is an option by its name (-delete -> delete); -exec's command apart. */
function findOptions(words: readonly WordValue[]): { options: string[]; open: boolean; execs: WordValue[][] } {
  const out: string[] = [];
  const execs: WordValue[][] = [];
  let open = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (!w.literal) {
      open = open || w.mayBeOption;
      continue;
    }
    if (w.text.startsWith('-') && w.text.length > 1) out.push(w.text.replace(/^-+/, ''));
    if (FIND_EXECS.has(w.text)) {
      let end = i + 1;
      while (end < words.length && !(words[end]!.literal && (words[end]!.text === ';' || words[end]!.text === '+'))) end++;
      const exec = words.slice(i + 1, end);
      if (exec.length > 0) execs.push(exec);
      i = end;
    }
  }
  return { options: [...new Set(out)], open, execs };
}

/** What the command line `text` runs (see ShellFacts). Pure, sync, never throws. */
export function analyseCommand(text: string): ShellFacts {
  const a = new Analysis();
  let ok: boolean;
  try {
    ok = a.script(text, [], false, 0);
  } catch (err) {
    // The walker met a node shape it did not expect: nothing it found can be trusted to be all.
    a.unknown.add(err instanceof RangeError ? 'too-deep' : 'unsupported-syntax');
    ok = true;
  }
  if (!ok) return { commands: [], unknown: [...a.unknown].sort(), writes: [] };
  return { commands: a.commands, unknown: [...a.unknown].sort(), writes: a.writes };
}
