// The audit payloads of SSH requests and responses, and what the agent is told when one is
// refused. Pure.
import { createHash, type Hash } from 'node:crypto';
import type { GatewayError } from '@agentgate/errors';
import {
  type ResponseObserved,
  type ResponseOutcome,
  responseObserved,
  type SshRequest,
  type StreamDigest,
  type VerdictIssued,
} from '@agentgate/events';

/** An SshRequest with every field not given left empty. */
export function sshDetail(fields: Partial<Omit<SshRequest, 'kind'>> & Pick<SshRequest, 'channel'>): SshRequest {
  return {
    kind: 'ssh',
    command: null,
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
    ...fields,
  };
}

/** A ResponseObserved of an SSH request: no rows or columns, the streams' sizes and digests instead. */
export function sshResponse(
  requestId: string,
  outcome: ResponseOutcome,
  fields: Partial<Pick<ResponseObserved, 'durationUs' | 'errorCode' | 'errorMessage' | 'exitStatus' | 'exitSignal' | 'streams'>> & {
    masking?: Record<string, number>;
  } = {},
): ResponseObserved {
  const streams = fields.streams ?? [];
  return responseObserved(requestId, outcome, {
    ...fields,
    streams,
    bytes: streams.filter((s) => s.name !== 'stdin' && s.name !== 'to-target').reduce((n, s) => n + s.bytes, 0),
    resultDigest: streams.find((s) => s.name === 'stdout')?.sha256 ?? null,
  });
}

/** Counts and digests one byte stream as it passes. */
export class StreamTally {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  constructor(readonly name: string) {}

  add(bytes: Uint8Array): void {
    this.count += bytes.length;
    this.hash.update(bytes);
  }

  get bytes(): number {
    return this.count;
  }

  digest(): StreamDigest {
    return { name: this.name, bytes: this.count, sha256: this.hash.copy().digest('hex') };
  }
}

/** The line an agent reads on stderr when a request is refused by policy. */
export function refusalMessage(verdict: VerdictIssued): string {
  const approval = verdict.approvalId === null ? '' : `, approval ${verdict.approvalId}`;
  const code = verdict.errorCode ?? 'AG_ERR_POLICY_DENIED';
  return `agentgate: refused by policy (${code}, rule ${verdict.ruleId ?? 'default'}, request ${verdict.requestId}${approval}): ${verdict.reason}\r\n`;
}

/** The line an agent reads on stderr when the gateway cannot let a request through (fail closed). */
export function failureMessage(error: GatewayError): string {
  return `agentgate: ${error.code}: ${error.message}; nothing was run\r\n`;
}

/** The notice an agent reads while its request waits for approval. */
export function approvalNotice(approvalId: string, approvalsUrl: string, waitMs: number): string {
  return `agentgate: this request needs approval ${approvalId}; an approver decides at ${approvalsUrl}/v1/approvals/${approvalId} (waiting up to ${Math.round(waitMs / 1000)} s)\r\n`;
}

/** Exit status of a command the gateway refused (as a shell reports "permission denied") or could not run. */
export const EXIT_REFUSED = 126;
export const EXIT_GATEWAY_FAILED = 255;
