// Programs that run another program named by their own arguments (sudo rm, env A=1 rm,
// xargs rm, sh -c 'rm'), with each one's options as its manual gives them. Where a wrapper's
// options end decides which word is the program, so an option we do not know is not guessed
// at: the caller marks the command unknown.
import type { WordValue } from './words.js';

/** How a wrapper's own words end. */
interface WrapperSpec {
  /** Short options without an argument. */
  flags?: string;
  /** Short options that take an argument (attached, `-uroot`, or the next word). */
  withArg?: string;
  /** Short options whose argument, if any, is attached (`xargs -i{}`). */
  optionalArg?: string;
  /** Long options: true when the option takes an argument (`--user root` or `--user=root`). */
  long?: Record<string, boolean>;
  /** Operands before the command (timeout's duration, chroot's new root). */
  operands?: number;
  /** NAME=value words may follow the options (env, sudo). */
  assignments?: boolean;
  /** `nice -5`: a dash and digits is an option. */
  numericOption?: boolean;
  /** `env -` means `env -i`. */
  dashAlone?: boolean;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh']);

const WRAPPERS: Record<string, WrapperSpec> = {
  sudo: {
    // -h is both --help and --host=host: ambiguous, so not listed (unknown). -e is sudoedit.
    flags: 'AbEHiKkLlnPSsVv',
    withArg: 'CDgprtTUu',
    long: {
      user: true,
      group: true,
      'close-from': true,
      chdir: true,
      chroot: true,
      prompt: true,
      role: true,
      type: true,
      'command-timeout': true,
      'other-user': true,
      host: true,
      'preserve-env': false,
      login: false,
      shell: false,
      'non-interactive': false,
      stdin: false,
      background: false,
      'set-home': false,
      askpass: false,
      'preserve-groups': false,
      'reset-timestamp': false,
      'remove-timestamp': false,
      bell: false,
    },
    assignments: true,
  },
  doas: { flags: 'ns', withArg: 'uC' },
  // env -S splits a string into words: not listed, so unknown.
  env: {
    flags: '0iv',
    withArg: 'uC',
    long: {
      'ignore-environment': false,
      null: false,
      unset: true,
      chdir: true,
      debug: false,
      'block-signal': false,
      'default-signal': false,
      'ignore-signal': false,
      'list-signal-handling': false,
    },
    assignments: true,
    dashAlone: true,
  },
  nohup: {},
  nice: { withArg: 'n', long: { adjustment: true }, numericOption: true },
  // -p/-P/-u name running processes: the rest are ids, not a command (unknown).
  ionice: { flags: 't', withArg: 'cn', long: { class: true, classdata: true, ignore: false } },
  timeout: {
    flags: 'v',
    withArg: 'sk',
    long: { signal: true, 'kill-after': true, 'preserve-status': false, foreground: false, verbose: false },
    operands: 1,
  },
  stdbuf: { withArg: 'ioe', long: { input: true, output: true, error: true } },
  time: {
    flags: 'pavq',
    withArg: 'fo',
    long: { format: true, output: true, append: false, verbose: false, portability: false, quiet: false },
  },
  command: { flags: 'pvV' },
  builtin: {},
  exec: { flags: 'cl', withArg: 'a' },
  xargs: {
    flags: '0oprtx',
    withArg: 'adEILnPs',
    optionalArg: 'eil',
    long: {
      null: false,
      'arg-file': true,
      delimiter: true,
      eof: false,
      replace: false,
      'max-lines': false,
      'max-args': true,
      'max-procs': true,
      'max-chars': true,
      interactive: false,
      'no-run-if-empty': false,
      verbose: false,
      exit: false,
      'open-tty': false,
      'process-slot-var': true,
      'show-limits': false,
    },
  },
  setsid: { flags: 'cfw', long: { ctty: false, fork: false, wait: false } },
  chroot: { long: { userspec: true, groups: true, 'skip-chdir': false }, operands: 1 },
  busybox: {},
};

/** What a wrapper's words say. */
export type Peeled =
  /** `words[next]` is the program it runs; `assigned` the NAME=value words it set. */
  | { kind: 'runs'; next: number; assigned: string[] }
  /** It runs nothing (`sudo -l`, `env`): the wrapper is the command. */
  | { kind: 'alone' }
  /** Options we cannot read: where the program starts is unknown. */
  | { kind: 'unknown' }
  /** A shell given a script: `words[script]` (sh -c 'script'). */
  | { kind: 'script'; script: number };

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** True when `program` is a wrapper (including a shell that may take `-c`). */
export function isWrapper(program: string): boolean {
  return program in WRAPPERS || SHELLS.has(program);
}

/** Reads the wrapper `program` at `words[at]`: where its own words end. */
export function peel(program: string, words: readonly WordValue[], at: number): Peeled | null {
  if (SHELLS.has(program)) return shell(words, at);
  const spec = WRAPPERS[program];
  if (!spec) return null;
  let i = at + 1;
  const withArg = spec.withArg ?? '';
  const flags = spec.flags ?? '';
  const optionalArg = spec.optionalArg ?? '';
  for (;;) {
    const w = words[i];
    if (!w) return { kind: 'alone' };
    if (!w.literal) {
      // A word decided at run time where options may be: it could be an option or the program.
      if (w.mayBeOption) return { kind: 'unknown' };
      break;
    }
    const t = w.text;
    if (t === '--') {
      i++;
      break;
    }
    if (t === '-' && spec.dashAlone) {
      i++;
      continue;
    }
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const name = t.slice(2, eq < 0 ? undefined : eq);
      const takes = spec.long?.[name];
      if (takes === undefined) return { kind: 'unknown' };
      i += takes && eq < 0 ? 2 : 1;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      if (spec.numericOption && /^-\d+$/.test(t)) {
        i++;
        continue;
      }
      let consumed = 1;
      for (let k = 1; k < t.length; k++) {
        const c = t[k]!;
        if (flags.includes(c)) continue;
        if (optionalArg.includes(c)) break;
        if (withArg.includes(c)) {
          if (k === t.length - 1) consumed = 2;
          break;
        }
        return { kind: 'unknown' };
      }
      i += consumed;
      continue;
    }
    break;
  }
  i += spec.operands ?? 0;
  const assigned: string[] = [];
  while (spec.assignments && words[i]?.literal && ASSIGNMENT.test(words[i]!.text)) assigned.push(words[i++]!.text);
  if (i >= words.length) return { kind: 'alone' };
  return { kind: 'runs', next: i, assigned };
}

// Shell options without an argument (bash, dash, zsh share these); -o and -O take one. Options
// that make the shell read startup files or other input first (-i, -l, -s, --login, --rcfile,
// --init-file) are not here: the commands in those files are not in the text, so such a shell is
// unknown.
const SHELL_FLAGS = 'abefhkmnptuvxBCEHPTrDc';
const SHELL_LONG: Record<string, boolean> = {
  norc: false,
  noprofile: false,
  posix: false,
  restricted: false,
  noediting: false,
  verbose: false,
};

/** `sh [options] -c script [name [args]]`; a shell without -c runs a file or stdin: not a wrapper. */
function shell(words: readonly WordValue[], at: number): Peeled | null {
  let i = at + 1;
  let c = false;
  for (;;) {
    const w = words[i];
    if (!w) break;
    if (!w.literal) {
      if (w.mayBeOption) return { kind: 'unknown' };
      break;
    }
    const t = w.text;
    if (t === '--' || t === '-') {
      i++;
      break;
    }
    if (t.startsWith('--')) {
      const takes = SHELL_LONG[t.slice(2)];
      if (takes === undefined) return { kind: 'unknown' };
      i += takes ? 2 : 1;
      continue;
    }
    if ((t.startsWith('-') || t.startsWith('+')) && t.length > 1) {
      let consumed = 1;
      for (let k = 1; k < t.length; k++) {
        const ch = t[k]!;
        if (ch === 'c') c = true;
        if (ch === 'o' || ch === 'O') {
          consumed = 2;
          continue;
        }
        if (!SHELL_FLAGS.includes(ch)) return { kind: 'unknown' };
      }
      i += consumed;
      continue;
    }
    break;
  }
  if (!c) return null;
  return i < words.length ? { kind: 'script', script: i } : { kind: 'unknown' };
}
