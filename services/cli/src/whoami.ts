// `agentgate whoami`: verifies the caller's token the way the gateway does and shows who it
// names, in which groups, on whose behalf, and until when.
import type { VerifiedIdentity } from '@agentgate/identity';
import { adminGroupsOf, verifiedCaller } from './caller.js';
import type { CliConfig } from './config.js';
import { printJson, table, utc, type CliIo } from './output.js';

export interface WhoamiOptions {
  tokenFile?: string | undefined;
  json: boolean;
}

/** The --json document. Pure. */
export function identityDocument(identity: VerifiedIdentity, adminGroups: readonly string[], now: Date): Record<string, unknown> {
  return {
    subject: identity.subject,
    issuer: identity.issuer,
    groups: identity.groups,
    // Principal first, then each actor from the earliest to the current one.
    act_chain: identity.actChain.map((l) => ({ subject: l.subject, issuer: l.issuer, client_id: l.clientId })),
    actor: identity.actor,
    client_id: identity.clientId,
    token_id: identity.tokenId,
    audience: identity.audience,
    issued_at: identity.issuedAt?.toISOString() ?? null,
    expires_at: identity.expiresAt.toISOString(),
    expires_in: Math.max(0, Math.floor((identity.expiresAt.getTime() - now.getTime()) / 1000)),
    admin: adminGroupsOf(identity, adminGroups).length > 0,
  };
}

/** "in 59 min", "in 42 s". */
function remaining(until: Date, now: Date): string {
  const sec = Math.max(0, Math.floor((until.getTime() - now.getTime()) / 1000));
  if (sec < 120) return `in ${sec} s`;
  if (sec < 7200) return `in ${Math.floor(sec / 60)} min`;
  return `in ${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
}

/** The human view. Pure. */
export function identityText(identity: VerifiedIdentity, adminGroups: readonly string[], now: Date): string {
  const admin = adminGroupsOf(identity, adminGroups);
  const rows: [string, string][] = [
    ['subject', identity.subject],
    ['issuer', identity.issuer],
    ['groups', identity.groups.length > 0 ? identity.groups.join(', ') : '(none)'],
    [
      'delegation',
      identity.actChain.length > 0
        ? `${identity.actChain.map((l) => l.subject).join(' -> ')} (principal first, current actor last)`
        : 'none (the subject acts for itself)',
    ],
    ['token id', identity.tokenId ?? '(none)'],
    ['expires', `${utc(identity.expiresAt)} UTC (${remaining(identity.expiresAt, now)})`],
    ['admin', admin.length > 0 ? `yes (${admin.join(', ')})` : `no (admin groups: ${adminGroups.join(', ')})`],
  ];
  // No header line: this is a record, not a list.
  return table(['', ''], rows).split('\n').slice(1).join('\n');
}

export async function whoami(config: Readonly<CliConfig>, options: WhoamiOptions, io: CliIo): Promise<number> {
  const identity = await verifiedCaller(config, options.tokenFile, 'whoami');
  const now = new Date();
  if (options.json) printJson(io, identityDocument(identity, config.adminGroups, now));
  else io.out(identityText(identity, config.adminGroups, now));
  return 0;
}
