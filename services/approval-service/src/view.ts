// What the REST API shows of an approval: a summary for lists and the full view an approver
// decides on. Pure: the clock comes in as nowUs. Times are ISO 8601 strings; the text and
// parameters are shown as the audit log recorded them (literals already masked).
import type { DelegationLink } from '@agentgate/events';
import type { RequestedApproval } from './approval-state.js';
import { actingAgents } from './parties.js';

const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();

export interface ApprovalSummary {
  id: string;
  status: RequestedApproval['status'];
  /** The principal. */
  requester: string;
  /** The agents acting for the principal, the current one first. */
  actChain: string[];
  connection: string | null;
  protocol: string;
  ruleId: string;
  reason: string;
  text: string;
  requestedAt: string;
  expiresAt: string;
  approvals: number;
  quorum: number;
  url: string;
}

export interface ApprovalView {
  id: string;
  status: RequestedApproval['status'];
  requester: { subject: string; issuer: string; groups: string[]; actChain: DelegationLink[] } | null;
  connection: string | null;
  protocol: string;
  text: string;
  parameters: (string | null)[];
  statementKinds: string[];
  ruleId: string;
  reason: string;
  policyVersion: string;
  blastRadius: { estimatedRows: number | null; planSummary: string | null; error: string | null; estimatedAt: string } | null;
  requestedAt: string;
  ageSeconds: number;
  expiresAt: string;
  approverGroups: string[];
  quorum: number;
  quorumGroups: string[];
  decisions: {
    approver: string;
    issuer: string;
    groups: string[];
    decision: 'approve' | 'deny';
    comment: string | null;
    decidedAt: string;
  }[];
  resolution: { outcome: string; decidedBy: string[]; resolvedAt: string } | null;
  grant: { scope: string; expiresAt: string; uses: number; released: number } | null;
  links: { requestSessionId: string; requestId: string; requestHash: string; pendingVerdictHash: string; statementDigest: string };
  url: string;
}

/** Where an approval is shown to people (notifications, the CLI). */
export function approvalUrl(publicUrl: string, approvalId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/approvals/${encodeURIComponent(approvalId)}`;
}

export function approvalSummary(approval: RequestedApproval, publicUrl: string): ApprovalSummary {
  const { request } = approval;
  return {
    id: approval.approvalId,
    status: approval.status,
    requester: approval.requester?.subject ?? '',
    actChain: approval.requester === null ? [] : actingAgents(approval.requester),
    connection: request.connection,
    protocol: request.protocol,
    ruleId: request.ruleId,
    reason: request.reason,
    text: request.text,
    requestedAt: iso(approval.requestedAtUs),
    expiresAt: iso(request.expiresAtUs),
    approvals: new Set(approval.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver.subject)).size,
    quorum: request.quorum,
    url: approvalUrl(publicUrl, approval.approvalId),
  };
}

export function approvalView(approval: RequestedApproval, nowUs: number, publicUrl: string): ApprovalView {
  const { request, requester, resolution, blastRadius } = approval;
  return {
    id: approval.approvalId,
    status: approval.status,
    // Never the token id or auth method: who asked, and on whose behalf.
    requester:
      requester === null
        ? null
        : {
            subject: requester.subject,
            issuer: requester.issuer,
            groups: [...requester.groups],
            actChain: requester.actChain.map((l) => ({ ...l })),
          },
    connection: request.connection,
    protocol: request.protocol,
    text: request.text,
    parameters: [...request.parameters],
    statementKinds: [...request.statementKinds],
    ruleId: request.ruleId,
    reason: request.reason,
    policyVersion: request.policyVersion,
    blastRadius:
      blastRadius === null
        ? null
        : {
            estimatedRows: blastRadius.estimatedRows,
            planSummary: blastRadius.planSummary,
            error: blastRadius.error,
            estimatedAt: iso(blastRadius.timeUs),
          },
    requestedAt: iso(approval.requestedAtUs),
    ageSeconds: Math.max(0, Math.floor((nowUs - approval.requestedAtUs) / 1e6)),
    expiresAt: iso(request.expiresAtUs),
    approverGroups: [...request.approverGroups],
    quorum: request.quorum,
    quorumGroups: [...request.quorumGroups],
    decisions: approval.decisions.map((d) => ({
      approver: d.approver.subject,
      issuer: d.approver.issuer,
      groups: [...d.approver.groups],
      decision: d.decision,
      comment: d.comment,
      decidedAt: iso(d.timeUs),
    })),
    resolution:
      resolution === null
        ? null
        : { outcome: resolution.outcome, decidedBy: [...resolution.decidedBy], resolvedAt: iso(resolution.timeUs) },
    grant:
      resolution?.outcome === 'approved' && resolution.grantScope !== null && resolution.grantExpiresAtUs !== null
        ? {
            scope: resolution.grantScope,
            expiresAt: iso(resolution.grantExpiresAtUs),
            uses: approval.grantUses,
            released: approval.grantReleases,
          }
        : null,
    links: {
      requestSessionId: request.requestSessionId,
      requestId: request.requestId,
      requestHash: request.requestHash,
      pendingVerdictHash: request.pendingVerdictHash,
      statementDigest: request.statementDigest,
    },
    url: approvalUrl(publicUrl, approval.approvalId),
  };
}
