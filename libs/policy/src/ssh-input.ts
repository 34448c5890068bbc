// The SSH part of a PolicyInput, from a recorded SshRequest (the processor) or a test case.
import type { SshRequest } from '@agentgate/events';
import { analyseCommand, type ShellFacts } from '@agentgate/shell';
import type { SshTestRequest } from './compile.js';
import type { SshInput } from './types.js';

type SshFields = Pick<
  SshRequest,
  'channel' | 'command' | 'operation' | 'path' | 'targetPath' | 'forwardHost' | 'forwardPort' | 'environment'
>;

/**
 * What the policy sees of an SSH request. An exec request is decided on its command's shell
 * facts: the processor's (`facts`) when given, else analysed here (analyseCommand is pure), so
 * replay and tests decide as the processor does.
 */
export function sshInput(r: SshFields, facts?: ShellFacts | null): SshInput {
  return {
    channel: r.channel,
    facts: r.channel === 'exec' ? (facts ?? analyseCommand(r.command ?? '')) : null,
    operation: r.operation,
    path: r.path,
    targetPath: r.targetPath,
    forwardHost: r.forwardHost,
    forwardPort: r.forwardPort,
    environment: [...r.environment],
  };
}

/** A test case's SSH request; the channel defaults from what it gives. */
export function sshTestInput(t: SshTestRequest): SshInput {
  const channel =
    t.channel ??
    (t.command !== undefined ? 'exec' : t.operation !== undefined ? 'sftp' : t.forward !== undefined ? 'direct-tcpip' : 'shell');
  const colon = t.forward?.lastIndexOf(':') ?? -1;
  const host = t.forward === undefined ? null : t.forward.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return sshInput({
    channel,
    command: t.command ?? null,
    operation: t.operation ?? null,
    path: t.path ?? null,
    targetPath: t.targetPath ?? null,
    forwardHost: host,
    forwardPort: t.forward === undefined ? null : Number(t.forward.slice(colon + 1)),
    environment: t.environment ?? [],
  });
}
