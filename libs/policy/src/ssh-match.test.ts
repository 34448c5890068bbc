// Given a policy with SSH conditions (inline YAML) and an SSH request (commands through the real
// shell parser), when evaluated, then this decision by this rule. Fail-closed cases included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePolicy, evaluate, sshInput, type CompiledPolicy, type Decision, type PolicyInput, type SshInput } from './index.js';
import { normalisePath, pathGlob } from './path-glob.js';
import { argvMatches } from './ssh-match.js';

function policyOf(yaml: string): CompiledPolicy {
  const r = compilePolicy([{ name: 'p.yaml', text: `policy: t\nrules:\n${yaml}` }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const NONE = { command: null, operation: null, path: null, targetPath: null, forwardHost: null, forwardPort: null, environment: [] };
const exec = (command: string, environment: string[] = []): SshInput => sshInput({ ...NONE, channel: 'exec', command, environment });
const sftp = (operation: string, path: string, targetPath: string | null = null): SshInput =>
  sshInput({ ...NONE, channel: 'sftp', operation, path, targetPath });
const forward = (host: string, port: number): SshInput =>
  sshInput({ ...NONE, channel: 'direct-tcpip', forwardHost: host, forwardPort: port });
const shell = (environment: string[] = []): SshInput => sshInput({ ...NONE, channel: 'shell', environment });

const req = (ssh: SshInput): PolicyInput => ({
  protocol: 'ssh',
  connection: 'web',
  identity: { subject: 'a', issuer: 'i', groups: ['agents'], actChain: [] },
  timeUs: 0,
  ssh,
});

const TOOLS = `  - { id: tools, description: d, match: { ssh: { program: [ls, cat, grep, rm, echo, find, xargs] } }, action: allow }
  - { id: no-rm-r, description: d, message: no rm -r, match: { ssh: { program: [rm], options: [r, R, recursive] } }, action: deny }
  - { id: no-find-exec, description: d, match: { ssh: { program: [find], options: [exec, execdir, ok, okdir, delete] } }, action: deny }
`;

type Case = [name: string, policy: string, ssh: SshInput, decision: Decision, rule: string | null];
const CASES: Case[] = [
  ['a listed program', TOOLS, exec('ls -la /tmp'), 'allow', 'tools'],
  ['every command of a pipeline must be listed', TOOLS, exec('cat /etc/passwd | grep root | wc -l'), 'deny', null],
  ['a pipeline of listed programs', TOOLS, exec('cat /etc/passwd | grep root'), 'allow', 'tools'],
  ['plain rm', TOOLS, exec('rm /tmp/x'), 'allow', 'tools'],
  ['rm -rf', TOOLS, exec('rm -rf /tmp/x'), 'deny', 'no-rm-r'],
  ['rm -r -f', TOOLS, exec('rm -f -r /tmp/x'), 'deny', 'no-rm-r'],
  ['rm --recursive', TOOLS, exec('rm --recursive /tmp/x'), 'deny', 'no-rm-r'],
  ['quoted "-rf"', TOOLS, exec('rm "-rf" /x'), 'deny', 'no-rm-r'],
  ["'r''m' is rm", TOOLS, exec("'r''m' -rf /x"), 'deny', 'no-rm-r'],
  ['/bin/rm', TOOLS, exec('/bin/rm -rf /x'), 'deny', 'no-rm-r'],
  ['rm -r inside sudo', TOOLS, exec('sudo -u root rm -rf /x'), 'deny', 'no-rm-r'],
  ['rm -r inside sh -c', TOOLS, exec("sh -c 'ls; rm -rf /x'"), 'deny', 'no-rm-r'],
  ['rm -r after xargs', TOOLS, exec('ls | xargs rm -rf'), 'deny', 'no-rm-r'],
  ['rm behind xargs: stdin may add -r (options open)', TOOLS, exec('ls | xargs rm'), 'deny', 'no-rm-r'],
  ['rm $X: the variable may be -r', TOOLS, exec('rm $X'), 'deny', 'no-rm-r'],
  ['rm * : a file may be named -rf', TOOLS, exec('rm *'), 'deny', 'no-rm-r'],
  ['rm ./* cannot become an option', TOOLS, exec('rm ./*'), 'allow', 'tools'],
  ['find -exec rm -r', TOOLS, exec('find / -name x -exec rm -rf {} \\;'), 'deny', 'no-rm-r'],
  ['find -delete', TOOLS, exec('find /tmp -delete'), 'deny', 'no-find-exec'],
  ['fail closed: command substitution', TOOLS, exec('echo $(ls)'), 'deny', null],
  ['fail closed: eval', TOOLS, exec('eval ls'), 'deny', null],
  ['fail closed: dynamic program', TOOLS, exec('$X -la'), 'deny', null],
  ['fail closed: unparseable', TOOLS, exec("echo 'unterminated"), 'deny', null],
  [
    'fail closed: a rule with no ssh condition does not cover unknown',
    '  - { id: all, description: d, match: { protocol: [ssh] }, action: allow }\n',
    exec('echo $(id)'),
    'deny',
    null,
  ],
  [
    'unknown: true covers it',
    '  - { id: all, description: d, match: { ssh: { unknown: true } }, action: allow }\n',
    exec('echo $(id)'),
    'allow',
    'all',
  ],
  [
    'unknown: true in a deny rule',
    `${TOOLS}  - { id: no-unknown, description: d, match: { ssh: { unknown: true } }, action: deny }\n`,
    exec('ls `id`'),
    'deny',
    'no-unknown',
  ],
  [
    'unknown: true does not match a known command',
    `${TOOLS}  - { id: no-unknown, description: d, match: { ssh: { unknown: true } }, action: deny }\n`,
    exec('ls'),
    'allow',
    'tools',
  ],
  ['a program rule does not cover a shell', TOOLS, shell(), 'deny', null],
  [
    'argv: ** takes the rest',
    '  - { id: ls, description: d, match: { ssh: { argv: [ls, "**"] } }, action: allow }\n',
    exec('/bin/ls -la /tmp'),
    'allow',
    'ls',
  ],
  [
    'argv: length must match',
    '  - { id: ls, description: d, match: { ssh: { argv: [ls] } }, action: allow }\n',
    exec('ls /etc'),
    'deny',
    null,
  ],
  [
    'argv: an allow rule admits a dynamic word only under **',
    '  - { id: ls, description: d, match: { ssh: { argv: [ls, "/tmp/*"] } }, action: allow }\n',
    exec('ls $D'),
    'deny',
    null,
  ],
  [
    'argv: a deny rule reads a dynamic word as anything',
    '  - { id: a, description: d, match: { ssh: { channel: [exec] } }, action: allow }\n  - { id: d, description: d, match: { ssh: { argv: [cat, /etc/shadow] } }, action: deny }\n',
    exec('cat $F'),
    'deny',
    'd',
  ],
  [
    'options only: within the list',
    '  - { id: ls, description: d, match: { ssh: { program: [ls], options: [l, a] } }, action: allow }\n',
    exec('ls -la'),
    'allow',
    'ls',
  ],
  [
    'options only: another option',
    '  - { id: ls, description: d, match: { ssh: { program: [ls], options: [l, a] } }, action: allow }\n',
    exec('ls -lR'),
    'deny',
    null,
  ],
  [
    'options only: hidden options are not within the list',
    '  - { id: rm, description: d, match: { ssh: { program: [rm], options: [f] } }, action: allow }\n',
    exec('rm -f $X'),
    'deny',
    null,
  ],
  [
    'options none',
    '  - { id: s, description: d, match: { ssh: { program: [sort], options: { none: [compress-program, o] } } }, action: allow }\n',
    exec('sort --compress-program=sh x'),
    'deny',
    null,
  ],
  [
    'sftp: under an allowed tree',
    '  - { id: f, description: d, match: { ssh: { path: ["/tmp/**"] } }, action: allow }\n',
    sftp('open-read', '/tmp/a/b'),
    'allow',
    'f',
  ],
  [
    'sftp: the tree itself',
    '  - { id: f, description: d, match: { ssh: { path: ["/tmp/**"] } }, action: allow }\n',
    sftp('readdir', '/tmp'),
    'allow',
    'f',
  ],
  [
    'sftp: .. out of the tree',
    '  - { id: f, description: d, match: { ssh: { path: ["/tmp/**"] } }, action: allow }\n',
    sftp('open-read', '/tmp/../etc/passwd'),
    'deny',
    null,
  ],
  [
    'sftp: a relative path is not placed',
    '  - { id: f, description: d, match: { ssh: { path: ["/tmp/**"] } }, action: allow }\n',
    sftp('open-read', 'x'),
    'deny',
    null,
  ],
  [
    'sftp: rename out of the tree',
    '  - { id: f, description: d, match: { ssh: { path: ["/tmp/**"] } }, action: allow }\n',
    sftp('rename', '/tmp/a', '/etc/a'),
    'deny',
    null,
  ],
  [
    'sftp: * stays in a segment',
    '  - { id: f, description: d, match: { ssh: { path: ["/tmp/*"] } }, action: allow }\n',
    sftp('stat', '/tmp/a/b'),
    'deny',
    null,
  ],
  [
    'sftp: operation',
    '  - { id: f, description: d, match: { ssh: { operation: [stat], path: ["/**"] } }, action: allow }\n',
    sftp('remove', '/tmp/a'),
    'deny',
    null,
  ],
  [
    'sftp: a deny rule on either path',
    '  - { id: f, description: d, match: { ssh: { path: ["/**"] } }, action: allow }\n  - { id: n, description: d, match: { ssh: { path: ["/etc/**"] } }, action: deny }\n',
    sftp('rename', '/tmp/a', '/etc/a'),
    'deny',
    'n',
  ],
  [
    'forward: listed',
    '  - { id: f, description: d, match: { ssh: { forward: ["127.0.0.1:25432"] } }, action: allow }\n',
    forward('127.0.0.1', 25432),
    'allow',
    'f',
  ],
  [
    'forward: another port',
    '  - { id: f, description: d, match: { ssh: { forward: ["127.0.0.1:25432"] } }, action: allow }\n',
    forward('127.0.0.1', 22),
    'deny',
    null,
  ],
  ['environment: an allow rule without a list admits none', TOOLS, exec('ls', ['LANG']), 'deny', null],
  [
    'environment: listed names',
    '  - { id: t, description: d, match: { ssh: { program: [ls], environment: [LANG, "LC_*"] } }, action: allow }\n',
    exec('ls', ['LANG', 'LC_ALL']),
    'allow',
    't',
  ],
  [
    'environment: an unlisted name',
    '  - { id: t, description: d, match: { ssh: { program: [ls], environment: [LANG, "LC_*"] } }, action: allow }\n',
    exec('ls', ['LANG', 'LD_PRELOAD']),
    'deny',
    null,
  ],
  ['channel: shell', '  - { id: s, description: d, match: { ssh: { channel: [shell] } }, action: allow }\n', shell(), 'allow', 's'],
  [
    'channel: shell rule does not cover exec',
    '  - { id: s, description: d, match: { ssh: { channel: [shell] } }, action: allow }\n',
    exec('ls'),
    'deny',
    null,
  ],
];

describe('ssh conditions', () => {
  for (const [name, policy, ssh, decision, rule] of CASES) {
    test(`given ${name}, then ${decision} by ${rule ?? 'the default'}`, () => {
      const e = evaluate(policyOf(policy), req(ssh));
      assert.deepEqual({ decision: e.decision, rule: e.ruleId }, { decision, rule }, e.reason);
    });
  }
});

test('given an exec the parser cannot fully read, when denied by default, then the reason names why', () => {
  const e = evaluate(policyOf(TOOLS), req(exec('echo $(id)')));
  assert.match(e.reason, /cannot be fully analysed \(command-substitution\)/);
  const n = evaluate(policyOf(TOOLS), req(exec('wc -l x')));
  assert.match(n.reason, /no rule allows this ssh exec request running wc/);
});

test('given an exec whose facts are missing, then allow rules do not cover it (fail closed)', () => {
  const e = evaluate(policyOf(TOOLS), req({ ...exec('ls'), facts: null }));
  assert.equal(e.decision, 'deny');
  assert.match(e.reason, /not analysed/);
});

test('given SSH conditions of two channels, then the compiler refuses the rule', () => {
  const r = compilePolicy([
    {
      name: 'p.yaml',
      text: 'rules:\n  - { id: x, description: d, match: { ssh: { program: [ls], path: ["/tmp/**"] } }, action: allow }\n',
    },
  ]);
  assert.equal(r.ok, false);
  assert.match(JSON.stringify(!r.ok && r.errors), /one channel per rule/);
  const c = compilePolicy([
    { name: 'p.yaml', text: 'rules:\n  - { id: x, description: d, match: { ssh: { channel: [sftp], program: [ls] } }, action: allow }\n' },
  ]);
  assert.match(JSON.stringify(!c.ok && c.errors), /does not include exec/);
});

test('path globs and normalisation', () => {
  assert.ok(pathGlob('/home/*/x').test('/home/a/x'));
  assert.ok(!pathGlob('/home/*/x').test('/home/a/b/x'));
  assert.ok(pathGlob('/home/**/x').test('/home/a/b/x'));
  assert.equal(normalisePath('/a/./b/../../c'), '/c');
  assert.equal(normalisePath('/..'), '/');
  assert.equal(normalisePath('a/b'), null);
});

test('argv with dynamic words: deny reads them as any number of words, allow only under **', () => {
  const cmd = { program: 'rm', argv: ['rm', '$X', '/'], literal: [true, false, true] };
  assert.ok(argvMatches(['rm', '-rf', '/'], cmd, false));
  assert.ok(argvMatches(['rm', '/'], cmd, false));
  assert.ok(!argvMatches(['rm', '-rf', '/'], cmd, true));
  assert.ok(argvMatches(['rm', '**'], cmd, true));
  assert.ok(!argvMatches(['rm', '-rf', '/etc'], cmd, false));
});
