// Given a command line, when analysed, then these commands (program, options, wrappers) and
// these reasons the facts may be incomplete. The corpus holds the usual disguises of a command.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyseCommand, MAX_COMMAND_BYTES, MAX_NESTED_SHELLS, UNKNOWN_REASONS, type ShellFacts } from './index.js';

/** program:options(,)[:wrappers(>)], with ! when options are open. */
function summary(f: ShellFacts): string[] {
  return f.commands.map(
    (c) => `${c.program}:${c.options.join(',')}${c.optionsOpen ? '!' : ''}${c.wrappers.length > 0 ? `:${c.wrappers.join('>')}` : ''}`,
  );
}

type Case = [text: string, commands: string[], unknown?: string[]];
const CASES: Case[] = [
  ['ls -la /tmp', ['ls:l,a']],
  ['cat a | grep -v b | wc -l', ['cat:', 'grep:v', 'wc:l']],
  ['true && echo ok || echo no; pwd', ['true:', 'echo:', 'echo:', 'pwd:']],
  ['rm "-rf" /x', ['rm:r,f']],
  ["'r''m' -rf /x", ['rm:r,f']],
  ['"rm" -r -f a', ['rm:r,f']],
  ['rm -fr x', ['rm:f,r']],
  ['rm x --recursive', ['rm:recursive']],
  ['rm -- -rf', ['rm:']],
  ['\\rm -rf x', ['rm:r,f']],
  ['/bin/rm -rf /', ['rm:r,f']],
  ["$'\\x72m' -rf /", ['rm:r,f']],
  ['ls --color=auto', ['ls:color']],
  ['sudo rm -rf /', ['rm:r,f:sudo']],
  ['sudo -u x -- rm -f a', ['rm:f:sudo']],
  ['sudo -u root -E rm x', ['rm::sudo']],
  ['sudo -h x', ['sudo:h'], ['wrapper-options']],
  ['env -i A=1 rm x', ['rm::env']],
  ['env', ['env:']],
  ['env -S "rm -rf /"', ['env:S'], ['wrapper-options']],
  ['nice -n 5 rm x', ['rm::nice']],
  ['nice -5 rm x', ['rm::nice']],
  ['timeout -s KILL 5 rm -r x', ['rm:r:timeout']],
  ['nohup stdbuf -o0 rm x', ['rm::nohup>stdbuf']],
  ['command -p exec rm x', ['rm::command>exec']],
  ['xargs rm -rf', ['rm:r,f!:xargs']],
  ['xargs -0 -n 1 rm', ['rm:!:xargs']],
  ['bash -c "rm -rf /"', ['rm:r,f:bash']],
  ["sh -c 'ls; rm -rf /x'", ['ls::sh', 'rm:r,f:sh']],
  ['sh -ec "sh -c \\"rm -r /\\""', ['rm:r:sh>sh']],
  ["sh -c 'rm $1' _ -rf", ['rm:!:sh']],
  ['sh -c "$X"', ['sh:c!'], ['wrapper-options']],
  ['sh -c -- "$X"', ['sh:c'], ['nested-shell-dynamic']],
  ['bash script.sh', ['bash:']],
  ['find / -exec rm -rf {} \\;', ['find:exec', 'rm:r,f:find']],
  ['find . -name x -delete', ['find:name,delete']],
  ['find . -execdir sh -c "rm -r {}" +', ['find:execdir', 'rm:r:find>sh']],
  ['a=1 rm -rf x', ['rm:r,f']],
  ['for f in a b; do rm -r $f; done', ['rm:r!']],
  ['if test -f x; then cat x; elif true; then :; else echo; fi', ['test:f', 'cat:', 'true:', '::', 'echo:']],
  ['while read l; do echo "$l"; done < f', ['read:', 'echo:!']],
  ['case $x in a) ls;; *) rm x;; esac', ['ls:', 'rm:']],
  ['(cd /tmp && ls) | { sort; uniq; }', ['cd:', 'ls:', 'sort:', 'uniq:']],
  ['rm $X', ['rm:!']],
  ['rm "$X"', ['rm:!']],
  ['rm "/tmp/$X"', ['rm:']],
  ['rm *', ['rm:!']],
  ['rm ./*', ['rm:']],
  ['rm ~/x', ['rm:']],
  ['rm -{r,f} x', ['rm:!']],
  ['echo $(rm -rf /)', ['rm:r,f', 'echo:!'], ['command-substitution']],
  ['echo `id`', ['id:', 'echo:!'], ['command-substitution']],
  ['$(echo rm) -rf /', ['echo:', '$(echo rm):r,f'], ['command-substitution', 'dynamic-program']],
  ['$X -rf', ['$X:r,f'], ['dynamic-program']],
  ['"$X" a', ['"$X":'], ['dynamic-program']],
  ['eval "rm -rf /"', ['eval:'], ['eval']],
  ['sudo eval ls', ['eval::sudo'], ['eval']],
  ['. ./x.sh', ['.:'], ['source']],
  ["trap 'rm -rf /' EXIT", ['trap:'], ['eval']],
  ['alias ls="rm -rf"', ['alias:'], ['alias']],
  ['f() { rm -rf /; }; f', ['rm:r,f', 'f:'], ['function-definition']],
  ['diff <(ls a) <(ls b)', ['ls:', 'ls:', 'diff:'], ['process-substitution']],
  ['echo $((1 + 2))', ['echo:!']],
  ['echo "$((1 + 2))"', ['echo:!']],
  ['echo $((X + 1))', ['echo:!'], ['arithmetic']],
  ['[[ $a -eq 1 ]] && ls', ['ls:'], ['arithmetic']],
  ["printf -v 'a[$(id)]' x", ['printf:v'], ['arithmetic']],
  ["printf '[%s]' x", ['printf:']],
  ["declare 'a[$(id)]=1'", ['declare:'], ['arithmetic']],
  ["read 'a[$(id)]'", ['read:'], ['arithmetic']],
  ['test -v "$N"', ['test:v!'], ['arithmetic']],
  ['PATH=/tmp ls', ['ls:'], ['sensitive-assignment']],
  ['export LD_PRELOAD=/tmp/x.so; ls', ['export:', 'ls:'], ['sensitive-assignment']],
  ['env PATH=/tmp ls', ['ls::env'], ['sensitive-assignment']],
  ['./ls', ['ls:'], ['program-path']],
  ['/tmp/ls', ['ls:'], ['program-path']],
  ['chroot /x ls', ['ls::chroot'], ['program-path']],
  ['ls [ab]', ['ls:!']],
  ['[ -f x ] && cat x', ['[:f', 'cat:']],
  ['', []],
];

describe('analyseCommand corpus', () => {
  for (const [text, commands, unknown = []] of CASES) {
    test(`given ${JSON.stringify(text)}, then ${commands.join(' ')}${unknown.length > 0 ? ` unknown ${unknown.join(',')}` : ''}`, () => {
      const f = analyseCommand(text);
      assert.deepEqual({ commands: summary(f), unknown: f.unknown }, { commands, unknown: [...unknown].sort() });
      for (const u of f.unknown) assert.ok((UNKNOWN_REASONS as readonly string[]).includes(u), u);
    });
  }
});

test('given redirections, then each with its target and the writes', () => {
  const f = analyseCommand('cat < in > out 2>&1 >> log &> both <<< hi; echo x >& f; echo y >| g');
  assert.deepEqual(f.commands[0]?.redirections, [
    { op: '<', target: 'in' },
    { op: '>', target: 'out' },
    { op: '>&', target: '1' },
    { op: '>>', target: 'log' },
    { op: '&>', target: 'both' },
    { op: '<<<', target: null },
  ]);
  assert.deepEqual(f.writes, ['out', 'log', 'both', 'f', 'g']);
});

test('given a here-document, then its body is read for commands', () => {
  const plain = analyseCommand("cat <<'EOF' > /tmp/x\n$(not run)\nEOF\n");
  assert.deepEqual([summary(plain), plain.unknown, plain.writes], [['cat:'], [], ['/tmp/x']]);
  const expanding = analyseCommand('cat <<EOF\n$(id)\nEOF\n');
  assert.deepEqual([summary(expanding), expanding.unknown], [['id:', 'cat:'], ['command-substitution']]);
});

test('given argv, then words as written, unquoted, and non-literal words as their source', () => {
  const [c] = analyseCommand('/bin/ls -l "a b" $HOME/x \'c\'').commands;
  assert.deepEqual(c?.argv, ['/bin/ls', '-l', 'a b', '$HOME/x', 'c']);
  assert.deepEqual(c?.literal, [true, true, true, false, true]);
});

test('given what cannot be parsed, then no commands and the reason', () => {
  for (const text of ["echo 'unterminated", 'if true; then', 'ls )', 'a\u0000b'])
    assert.deepEqual(analyseCommand(text), { commands: [], unknown: ['parse-error'], writes: [] }, text);
  assert.deepEqual(analyseCommand('x'.repeat(MAX_COMMAND_BYTES + 1)), { commands: [], unknown: ['too-long'], writes: [] });
  assert.deepEqual(analyseCommand(`${'('.repeat(1500)}ls${')'.repeat(1500)}`).unknown, ['too-deep']);
  assert.ok(analyseCommand(`${'{ '.repeat(300)}ls${'; }'.repeat(300)}`).unknown.includes('too-deep'));
  let nested = 'rm -rf /';
  for (let i = 0; i <= MAX_NESTED_SHELLS; i++) nested = `sh -c ${JSON.stringify(nested)}`;
  assert.ok(analyseCommand(nested).unknown.includes('too-deep'));
});

test('given binary junk, then it never throws', () => {
  let seed = 7;
  for (let n = 0; n < 200; n++) {
    let s = '';
    for (let i = 0; i < 200; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      s += String.fromCharCode(seed % 0x3000);
    }
    const f = analyseCommand(s);
    assert.ok(Array.isArray(f.commands) && Array.isArray(f.unknown));
  }
});

// Shell source, written as the agent sends it: ${...} is the shell's, not a template's.
const PROMPT_EXPANSION = ["x='$(id)'; echo $", '{x@P}'].join('');
const INDIRECT_EXPANSION = ['x=a; echo $', '{!x}'].join('');
const PLAIN_EXPANSIONS = ['echo $', '{x:-default} $', '{#x}'].join('');

test('given expansions that evaluate text the parse never saw, then unknown', () => {
  for (const text of [
    PROMPT_EXPANSION,
    INDIRECT_EXPANSION,
    'declare -n r=x; echo $r',
    'bash --rcfile /tmp/x -i -c true',
    'bash -l -c true',
    'sh -i -c ls',
  ])
    assert.notDeepEqual(analyseCommand(text).unknown, [], text);
  assert.deepEqual(analyseCommand(PLAIN_EXPANSIONS).unknown, [], 'plain expansions stay known');
});
