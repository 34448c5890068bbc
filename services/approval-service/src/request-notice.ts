// What approvers are told of a new approval request (the notifier's ApprovalNotice), from the
// ApprovalRequested event. The text is the audit log's (literals already masked).
import type { AuditEventOf } from '@agentgate/events';
import type { ApprovalNotice } from './notify/index.js';
import { approvalUrl } from './view.js';

export function requestNotice(event: AuditEventOf<'ApprovalRequested'>, publicUrl: string): ApprovalNotice {
  const { payload, actor } = event;
  const subject = actor?.subject ?? '';
  // libs/identity lists the principal first, then the actors from the earliest to the current;
  // the notice lists only the actors, the current one first.
  const links = actor?.actChain.map((l) => l.subject) ?? [];
  const agents = links[0] === subject ? links.slice(1) : links;
  return {
    approvalId: payload.approvalId,
    url: approvalUrl(publicUrl, payload.approvalId),
    requester: subject,
    actChain: [...agents].reverse(),
    connection: payload.connection,
    text: payload.text,
    ruleId: payload.ruleId,
    reason: payload.reason,
    expiresAtUs: payload.expiresAtUs,
    approverGroups: [...payload.approverGroups],
  };
}
