// What approvers are told of a new approval request (the notifier's ApprovalNotice), from the
// ApprovalRequested event. The text is the audit log's (literals already masked).
import type { AuditEventOf } from '@agentgate/events';
import type { ApprovalNotice } from './notify/index.js';
import { actingAgents } from './parties.js';
import { approvalUrl } from './view.js';

export function requestNotice(event: AuditEventOf<'ApprovalRequested'>, publicUrl: string): ApprovalNotice {
  const { payload, actor } = event;
  return {
    approvalId: payload.approvalId,
    url: approvalUrl(publicUrl, payload.approvalId),
    requester: actor?.subject ?? '',
    actChain: actor === null ? [] : actingAgents(actor),
    connection: payload.connection,
    text: payload.text,
    ruleId: payload.ruleId,
    reason: payload.reason,
    expiresAtUs: payload.expiresAtUs,
    approverGroups: [...payload.approverGroups],
  };
}
