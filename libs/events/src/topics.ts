/** Kafka topic names, in one place. A prefix isolates test runs and tenants. */
export interface TopicNames {
  /** Everything an ingress observes: sessions, requests, responses. Keyed by session id. */
  readonly ingress: string;
  /**
   * Verdicts for the PostgreSQL ingress (and for any protocol without a topic of its own). Keyed
   * by session id. Every ingress reads its whole verdict topic (it cannot ask the broker for its
   * own verdicts only), so each ingress has its own: an SSH or HTTP ingress does not fetch, or
   * have the right to read, a database's verdicts. Logs written before the split hold every
   * protocol's verdicts here.
   */
  readonly verdicts: string;
  /** Verdicts for the SSH ingress. Keyed by session id. */
  readonly sshVerdicts: string;
  /** Verdicts for the HTTP ingress: HTTP calls and MCP sessions. Keyed by session id. */
  readonly httpVerdicts: string;
  /** Admin commands to running sessions (kill); later issues add producers. */
  readonly control: string;
  /** Approvals: requests, decisions, outcomes, grant uses and blast radius estimates. Keyed by approval id (by the envelope's sessionId). */
  readonly approvals: string;
  /** Approvers' decisions and approval outcomes (ApprovalDecided, ApprovalResolved): written by the approval service only, so a grant cannot come from anywhere else. Keyed by approval id. */
  readonly approvalDecisions: string;
  /** Published policies (PolicyPublished, schemas/policy-event.avsc). Compacted, keyed by policy name. */
  readonly policies: string;
  /** Verdicts of shadow policies: recorded, never enforced, off the verdict topic the ingress reads. Keyed by session id. */
  readonly shadowVerdicts: string;
  /** Signed checkpoints of chain heads (CheckpointSigned): written by the checkpoint service only. One partition, keyed by the checkpointer's chain. */
  readonly checkpoints: string;
  /** Legal holds and retention (LegalHoldChanged, RetentionApplied): written by the audit API only. Keyed by the envelope's sessionId. */
  readonly governance: string;
}

/** Topic names under an optional prefix (`agentgate` unless given). */
export function topicNames(prefix = 'agentgate'): TopicNames {
  return Object.freeze({
    ingress: `${prefix}.ingress.v1`,
    verdicts: `${prefix}.verdicts.v1`,
    sshVerdicts: `${prefix}.verdicts-ssh.v1`,
    httpVerdicts: `${prefix}.verdicts-http.v1`,
    control: `${prefix}.control.v1`,
    approvals: `${prefix}.approvals.v1`,
    approvalDecisions: `${prefix}.approval-decisions.v1`,
    policies: `${prefix}.policies.v1`,
    shadowVerdicts: `${prefix}.shadow-verdicts.v1`,
    checkpoints: `${prefix}.checkpoints.v1`,
    governance: `${prefix}.governance.v1`,
  });
}

/** The ingresses that wait on verdicts, each reading a verdict topic of its own. */
export type VerdictReader = 'postgres' | 'ssh' | 'http';

/** The verdict topic an ingress reads. */
export function verdictTopicOf(names: Pick<TopicNames, 'verdicts' | 'sshVerdicts' | 'httpVerdicts'>, reader: VerdictReader): string {
  return reader === 'ssh' ? names.sshVerdicts : reader === 'http' ? names.httpVerdicts : names.verdicts;
}

/**
 * The verdict topic that answers a request of `protocol` (RequestObserved.protocol): MCP sessions
 * are the HTTP ingress's. A protocol no ingress here speaks goes to `verdicts`; nothing waits for
 * it there, so whatever asked times out and refuses (fail closed).
 */
export function verdictTopicForProtocol(names: Pick<TopicNames, 'verdicts' | 'sshVerdicts' | 'httpVerdicts'>, protocol: string): string {
  const reader: VerdictReader = protocol === 'ssh' ? 'ssh' : protocol === 'http' || protocol === 'mcp' ? 'http' : 'postgres';
  return verdictTopicOf(names, reader);
}

/** Every topic that carries live verdicts. */
export function verdictTopics(names: Pick<TopicNames, 'verdicts' | 'sshVerdicts' | 'httpVerdicts'>): string[] {
  return [names.verdicts, names.sshVerdicts, names.httpVerdicts];
}

/** Topics whose events are links of a per-session hash chain (checkpoints chain only onto each other). */
export function chainedTopics(
  names: Pick<
    TopicNames,
    | 'ingress'
    | 'verdicts'
    | 'sshVerdicts'
    | 'httpVerdicts'
    | 'control'
    | 'shadowVerdicts'
    | 'approvals'
    | 'approvalDecisions'
    | 'governance'
  >,
): string[] {
  return [
    names.ingress,
    ...verdictTopics(names),
    names.control,
    names.shadowVerdicts,
    names.approvals,
    names.approvalDecisions,
    names.governance,
  ];
}

/** Topics that carry audit events (projected into ClickHouse): the chained ones and the checkpoints. */
export function auditTopics(names: TopicNames): string[] {
  return [...chainedTopics(names), names.checkpoints];
}
