/** Kafka topic names, in one place. A prefix isolates test runs and tenants. */
export interface TopicNames {
  /** Everything an ingress observes: sessions, requests, responses. Keyed by session id. */
  readonly ingress: string;
  /** Verdicts of the stream processors. Keyed by session id. */
  readonly verdicts: string;
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
    control: `${prefix}.control.v1`,
    approvals: `${prefix}.approvals.v1`,
    approvalDecisions: `${prefix}.approval-decisions.v1`,
    policies: `${prefix}.policies.v1`,
    shadowVerdicts: `${prefix}.shadow-verdicts.v1`,
    checkpoints: `${prefix}.checkpoints.v1`,
    governance: `${prefix}.governance.v1`,
  });
}

/** Topics whose events are links of a per-session hash chain (checkpoints chain only onto each other). */
export function chainedTopics(
  names: Pick<TopicNames, 'ingress' | 'verdicts' | 'control' | 'shadowVerdicts' | 'approvals' | 'approvalDecisions' | 'governance'>,
): string[] {
  return [names.ingress, names.verdicts, names.control, names.shadowVerdicts, names.approvals, names.approvalDecisions, names.governance];
}

/** Topics that carry audit events (projected into ClickHouse): the chained ones and the checkpoints. */
export function auditTopics(names: TopicNames): string[] {
  return [...chainedTopics(names), names.checkpoints];
}
