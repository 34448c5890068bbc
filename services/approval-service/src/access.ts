// Who may see an approval: its approvers, the requester (any party of the requester's chain)
// and the auditors and gateway administrators. Deciding has stricter rules (decide.ts).
import type { Actor } from '@agentgate/events';
import type { RequestedApproval } from './approval-state.js';
import { memberOfAny } from './glob.js';
import { partiesMeet } from './parties.js';

/** Groups that may read every approval. */
export const READ_ALL_GROUPS: readonly string[] = ['auditors', 'gateway-admins'];

export function mayRead(caller: Actor, approval: RequestedApproval): boolean {
  if (caller.groups.some((g) => READ_ALL_GROUPS.includes(g))) return true;
  if (memberOfAny(caller.groups, approval.request.approverGroups)) return true;
  return approval.requester !== null && partiesMeet(caller, approval.requester);
}
