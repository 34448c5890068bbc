// What a notification says about one approval request: the service fills it from the
// ApprovalRequested event; every channel format is rendered from it.

/** One approval request, as announced to approvers. */
export interface ApprovalNotice {
  approvalId: string;
  /** Where an approver decides (the approval service's page or API for this request). */
  url: string;
  /** The principal: the token's subject. */
  requester: string;
  /** The agents acting for the requester, RFC 8693 order: the current actor first. */
  actChain: string[];
  connection: string | null;
  /** The statement waiting for approval. */
  text: string;
  ruleId: string;
  reason: string;
  /** Epoch microseconds, like event times. */
  expiresAtUs: number;
  approverGroups: string[];
}
