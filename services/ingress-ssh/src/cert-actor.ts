// The identity inside a certificate the gateway's CA issued: the audit actor the token was
// verified as, and the token's expiry, as JSON in a certificate extension (signed with the rest
// of the certificate, so only the CA can write it). OpenSSH servers ignore unknown extensions.
import { GatewayError } from '@agentgate/errors';
import type { Actor } from '@agentgate/events';

export const ACTOR_EXTENSION = 'agentgate-actor@agentgate.dev';

export interface CertificateActor {
  actor: Actor;
  tokenExpiresAtSec: number;
}

export function actorExtension(actor: Actor, tokenExpiresAtSec: number): string {
  return JSON.stringify({ v: 1, actor, tokenExpiresAtSec });
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The actor of a verified certificate; AG_ERR_SSH_CERT_MALFORMED when the extension is missing or not ours. */
export function parseActorExtension(value: string | undefined): CertificateActor {
  const refuse = (why: string): never => {
    throw new GatewayError('AG_ERR_SSH_CERT_MALFORMED', `the certificate's ${ACTOR_EXTENSION} extension ${why}`);
  };
  if (value === undefined) return refuse('is missing: it was not issued by `agentgate ssh login`');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return refuse('is not JSON');
  }
  const actor = doc['actor'] as Record<string, unknown> | undefined;
  const exp = doc['tokenExpiresAtSec'];
  if (doc['v'] !== 1 || typeof actor !== 'object' || actor === null || typeof exp !== 'number') return refuse('has an unknown form');
  const { subject, issuer, groups, actChain, tokenId } = actor;
  if (typeof subject !== 'string' || typeof issuer !== 'string' || !isStrings(groups) || !Array.isArray(actChain))
    return refuse('names no complete actor');
  return {
    actor: {
      subject,
      issuer,
      groups: [...groups],
      actChain: (actChain as Record<string, unknown>[]).map((l) => ({
        subject: String(l['subject'] ?? ''),
        issuer: typeof l['issuer'] === 'string' ? l['issuer'] : null,
        clientId: typeof l['clientId'] === 'string' ? l['clientId'] : null,
      })),
      tokenId: typeof tokenId === 'string' ? tokenId : null,
      authMethod: 'ssh-certificate',
    },
    tokenExpiresAtSec: exp,
  };
}
