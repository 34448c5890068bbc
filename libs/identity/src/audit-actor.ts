import type { DelegationLink, VerifiedIdentity } from './types.js';

/** An identity as the audit log records it (libs/events' Actor): who, and never the token itself. */
export interface AuditActor {
  subject: string;
  issuer: string;
  groups: string[];
  actChain: DelegationLink[];
  tokenId: string | null;
  authMethod: 'oidc-access-token';
}

/** The audit record of a verified access token's identity; every service records it this way. */
export function auditActor(identity: Pick<VerifiedIdentity, 'subject' | 'issuer' | 'groups' | 'actChain' | 'tokenId'>): AuditActor {
  return {
    subject: identity.subject,
    issuer: identity.issuer,
    groups: [...identity.groups],
    actChain: identity.actChain.map((l) => ({ subject: l.subject, issuer: l.issuer, clientId: l.clientId })),
    tokenId: identity.tokenId,
    authMethod: 'oidc-access-token',
  };
}
