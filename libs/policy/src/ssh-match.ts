// SSH conditions against one SSH request. Lists read the conservative way for the rule's
// action (docs/policy.md, "SSH conditions"): an allow rule says what every command, path, name
// may be, and never covers what the shell parser could not read unless it says `unknown: true`;
// a deny, approve or mask rule matches when some command, path or name is one it names.
import type { ShellCommand } from '@agentgate/shell';
import { anyGlob, globMatch } from './names.js';
import { normalisePath, pathGlob } from './path-glob.js';
import type { ListCondition, SshCondition, SshInput } from './types.js';

/** Does `input` satisfy `cond` (null: no SSH condition) for a rule that grants (`permissive`) or not? */
export function sshMatches(cond: SshCondition | null, input: SshInput, permissive: boolean): boolean {
  const c = cond ?? {};
  if (c.channel && !anyGlob(c.channel, input.channel)) return false;
  if (!environmentMatches(c.environment, input.environment, permissive)) return false;

  const facts = input.channel === 'exec' ? input.facts : null;
  const unknown = input.channel === 'exec' && (facts === null || facts.unknown.length > 0);
  // Fail closed: an allow rule covers a command the parser could not fully read only when it says so.
  if (unknown && permissive && c.unknown !== true) return false;
  if (c.unknown !== undefined && (input.channel !== 'exec' || unknown !== c.unknown)) return false;

  if (c.program || c.argv || c.options) {
    if (facts === null) return false;
    const fits = (cmd: ShellCommand): boolean => commandMatches(c, cmd, permissive);
    if (permissive ? !facts.commands.every(fits) : !facts.commands.some(fits)) return false;
  }
  if (c.operation && (input.operation === null || !anyGlob(c.operation, input.operation))) return false;
  if (c.path) {
    const paths = [input.path, input.targetPath].filter((p): p is string => p !== null);
    if (paths.length === 0) return false;
    const fits = (p: string): boolean => pathMatches(c.path!, p, permissive);
    if (permissive ? !paths.every(fits) : !paths.some(fits)) return false;
  }
  if (c.forward) {
    if (input.forwardHost === null || input.forwardPort === null) return false;
    if (!anyGlob(c.forward, forwardTarget(input.forwardHost, input.forwardPort))) return false;
  }
  return true;
}

/** `host:port`, the host lower case and an IPv6 address in brackets, as `forward` globs read it. */
export function forwardTarget(host: string, port: number): string {
  const h = host.toLowerCase();
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function environmentMatches(globs: readonly string[] | undefined, names: readonly string[], permissive: boolean): boolean {
  // An allow rule admits only the names it lists: no list, no environment.
  if (permissive) return names.every((n) => globs !== undefined && anyGlob(globs, n));
  return globs === undefined || names.some((n) => anyGlob(globs, n));
}

function commandMatches(c: SshCondition, cmd: ShellCommand, permissive: boolean): boolean {
  if (c.program && !programMatches(c.program, cmd.program)) return false;
  if (c.options && !optionsMatch(c.options, cmd)) return false;
  if (c.argv && !argvMatches(c.argv, cmd, permissive)) return false;
  return true;
}

function programMatches(cond: ListCondition<string>, program: string): boolean {
  const hit = anyGlob(cond.values, program);
  return cond.quantifier === 'none' ? !hit : hit;
}

/**
 * any: some option is listed, or options may be hidden (`rm $X`, xargs); only: every option is
 * listed and none may be hidden; none: no option is listed and none may be hidden.
 */
function optionsMatch(cond: ListCondition<string>, cmd: ShellCommand): boolean {
  const listed = (o: string): boolean => anyGlob(cond.values, o);
  switch (cond.quantifier) {
    case 'any':
      return cmd.optionsOpen || cmd.options.some(listed);
    case 'only':
      return !cmd.optionsOpen && cmd.options.every(listed);
    case 'none':
      return !cmd.optionsOpen && !cmd.options.some(listed);
    default: {
      const never: never = cond.quantifier;
      throw new Error(`unknown quantifier ${String(never)}`);
    }
  }
}

/**
 * argv[0] is compared with the program name; `**` as the last glob takes any remaining words.
 * A word decided at run time (`$X`, `*`) may become any number of words: an allow rule admits it
 * only under the trailing `**`; for other rules it may match anything.
 */
export function argvMatches(
  globs: readonly string[],
  cmd: Pick<ShellCommand, 'program' | 'argv' | 'literal'>,
  permissive: boolean,
): boolean {
  const words = [cmd.program, ...cmd.argv.slice(1)];
  const literal = [true, ...cmd.literal.slice(1)];
  const memo = new Map<number, boolean>();
  const m = (i: number, j: number): boolean => {
    const key = i * (words.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === globs.length) r = j === words.length || (!permissive && literal.slice(j).every((l) => !l));
    else if (globs[i] === '**' && i === globs.length - 1) r = true;
    else if (j === words.length) r = false;
    else if (literal[j] !== false) r = globMatch(globs[i]!, words[j]!) && m(i + 1, j + 1);
    else r = !permissive && (m(i, j + 1) || m(i + 1, j) || m(i + 1, j + 1));
    memo.set(key, r);
    return r;
  };
  return m(0, 0);
}

function pathMatches(globs: readonly string[], path: string, permissive: boolean): boolean {
  const p = normalisePath(path);
  // A path we cannot place: an allow rule does not cover it, a deny rule does.
  if (p === null) return !permissive;
  return globs.some((g) => pathGlob(g).test(p));
}
