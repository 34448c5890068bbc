// What the processor knows of approvals, rebuilt from the approvals and approval-decisions
// topics: each request for approval, its outcome and the uses of its grant. Pure bookkeeping:
// events in, lookups out. Applying the same event twice changes nothing.
import type { Actor, AuditEvent, AuditEventOf, GrantScope } from '@agentgate/events';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface BookEntry {
  readonly approvalId: string;
  readonly requestId: string;
  readonly requestSessionId: string;
  /** The requester with their delegation chain, and the connection (see `identityKey`). */
  readonly identity: string;
  readonly connection: string | null;
  /** Empty when the request had no statement digest (no gateway key): it binds to nothing. */
  readonly statementDigest: string;
  readonly ruleId: string;
  readonly grantScope: GrantScope;
  readonly requestedAtUs: number;
  readonly expiresAtUs: number;
  /** How long a denial or expiry keeps refusing the same statement: the rule's expiry. */
  readonly refuseForUs: number;
  status: ApprovalStatus;
  resolvedAtUs: number | null;
  grantExpiresAtUs: number | null;
  /** Requests that ran under the grant (released uses removed). */
  readonly uses: Set<string>;
}

/**
 * The requester as a grant names them: issuer, subject and the whole delegation chain. A grant
 * to an agent acting for one human is not a grant to the same agent acting for another.
 */
export function identityKey(actor: Actor | null): string {
  if (!actor) return 'anonymous';
  return JSON.stringify([actor.issuer, actor.subject, actor.actChain.map((l) => [l.issuer, l.subject])]);
}

export function statementKey(identity: string, connection: string | null, digest: string): string {
  return `${identity}\u0000${connection ?? ''}\u0000statement\u0000${digest}`;
}

export function windowKey(identity: string, connection: string | null, ruleId: string): string {
  return `${identity}\u0000${connection ?? ''}\u0000window\u0000${ruleId}`;
}

export class ApprovalBook {
  private readonly entries = new Map<string, BookEntry>();
  /** Approval ids by statement key and by window key, oldest first. */
  private readonly byKey = new Map<string, string[]>();
  private readonly seen = new Set<string>();
  private readonly resolutions = new Map<string, AuditEventOf<'ApprovalResolved'>>();
  // Outcomes and uses read before their request: the topics are read side by side, so an
  // approval's outcome (approval-decisions) may arrive before its request (approvals).
  private readonly early = new Map<string, AuditEvent[]>();

  get(approvalId: string): BookEntry | undefined {
    return this.entries.get(approvalId);
  }

  /** The event that resolved `approvalId`, once it is resolved. */
  resolution(approvalId: string): AuditEventOf<'ApprovalResolved'> | undefined {
    return this.resolutions.get(approvalId);
  }

  /** The approvals filed under `key` (statementKey or windowKey), newest first. */
  under(key: string): BookEntry[] {
    return (this.byKey.get(key) ?? []).map((id) => this.entries.get(id)!).reverse();
  }

  get size(): number {
    return this.entries.size;
  }

  apply(event: AuditEvent): void {
    if (this.seen.has(event.eventId)) return;
    switch (event.eventType) {
      case 'ApprovalRequested': {
        const p = event.payload;
        if (this.entries.has(p.approvalId)) break;
        const identity = identityKey(event.actor);
        const entry: BookEntry = {
          approvalId: p.approvalId,
          requestId: p.requestId,
          requestSessionId: p.requestSessionId,
          identity,
          connection: p.connection,
          statementDigest: p.statementDigest,
          ruleId: p.ruleId,
          grantScope: p.grantScope,
          requestedAtUs: event.timeUs,
          expiresAtUs: p.expiresAtUs,
          refuseForUs: Math.max(0, p.expiresAtUs - event.timeUs),
          status: 'pending',
          resolvedAtUs: null,
          grantExpiresAtUs: null,
          uses: new Set(),
        };
        this.entries.set(p.approvalId, entry);
        const key =
          p.grantScope === 'window'
            ? windowKey(identity, p.connection, p.ruleId)
            : p.statementDigest === ''
              ? undefined
              : statementKey(identity, p.connection, p.statementDigest);
        if (key !== undefined) this.byKey.set(key, [...(this.byKey.get(key) ?? []), p.approvalId]);
        this.seen.add(event.eventId);
        const waiting = this.early.get(p.approvalId) ?? [];
        this.early.delete(p.approvalId);
        for (const e of waiting) this.apply(e);
        return;
      }
      case 'ApprovalResolved': {
        const entry = this.entries.get(event.payload.approvalId);
        if (!entry) {
          this.keepForLater(event.payload.approvalId, event);
          return;
        }
        if (entry.status !== 'pending') break;
        this.resolutions.set(entry.approvalId, event);
        entry.status = event.payload.outcome;
        entry.resolvedAtUs = event.timeUs;
        entry.grantExpiresAtUs = event.payload.outcome === 'approved' ? event.payload.grantExpiresAtUs : null;
        break;
      }
      case 'GrantUsed': {
        const entry = this.entries.get(event.payload.approvalId);
        if (!entry) {
          this.keepForLater(event.payload.approvalId, event);
          return;
        }
        if (event.payload.released) entry.uses.delete(event.payload.requestId);
        else entry.uses.add(event.payload.requestId);
        break;
      }
      default:
        return;
    }
    this.seen.add(event.eventId);
  }

  private keepForLater(approvalId: string, event: AuditEvent): void {
    const list = this.early.get(approvalId) ?? [];
    if (!list.some((e) => e.eventId === event.eventId)) list.push(event);
    this.early.set(approvalId, list);
  }
}
