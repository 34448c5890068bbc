// Given a compiled policy with SSH rules, when the engine decides an SSH exec, then it decides on
// the shell facts the processor's analysis carries (libs/shell), and analyses the command itself
// when the analysis has none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleSession, type AuditEventOf, type SshRequest } from '@agentgate/events';
import { initialUsage } from '@agentgate/policy';
import { analyseCommand } from '@agentgate/shell';
import { policyEngine } from './policy-engine.js';

const [, sample] = sampleSession() as [unknown, AuditEventOf<'RequestObserved'>];

function sshExec(command: string): AuditEventOf<'RequestObserved'> {
  const detail: SshRequest = {
    kind: 'ssh',
    channel: 'exec',
    command,
    subsystem: null,
    operation: null,
    path: null,
    targetPath: null,
    offset: null,
    length: null,
    forwardHost: null,
    forwardPort: null,
    environment: [],
    ptyTerm: null,
    ptyCols: null,
    ptyRows: null,
  };
  return { ...sample, payload: { ...sample.payload, protocol: 'ssh', connection: 'web', detail } };
}

const POLICY = `policy: t
rules:
  - { id: tools, description: tools, match: { ssh: { program: [ls, rm] } }, action: allow }
  - { id: no-rm-r, description: no rm -r, match: { ssh: { program: [rm], options: [r] } }, action: deny }
`;

test('given an SSH exec, when decided, then the analysis shell facts decide, else the command is analysed', () => {
  const { policy } = policyEngine().compile([{ name: 'p.yaml', text: POLICY }], 't');
  const classification = { statementKind: 'NOT_SQL', statementKinds: [] };
  const request = sshExec('sh -c "rm -rf /tmp/x"');
  const own = policy.decide(request, { classification }, initialUsage());
  assert.deepEqual([own.payload.decision, own.payload.ruleId], ['deny', 'no-rm-r']);
  const analysed = policy.decide(request, { classification, shell: analyseCommand('ls') }, initialUsage());
  assert.deepEqual([analysed.payload.decision, analysed.payload.ruleId], ['allow', 'tools']);
  const unknown = policy.decide(sshExec('echo $(id)'), { classification, shell: analyseCommand('echo $(id)') }, initialUsage());
  assert.deepEqual([unknown.payload.decision, unknown.payload.ruleId], ['deny', null]);
});
