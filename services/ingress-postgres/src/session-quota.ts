// Session admission counts: the gateway's total, and per identity in each of the two roles a
// session gives one. The acting agent (the `act` chain's holder, outermost act.sub; the subject
// itself without delegation) and the subject are each capped, so an agent can neither dodge its
// own limit by acting for many principals nor fill a principal's quota beyond the limit. Pure:
// no sockets, no clock; app.ts calls admit() once a token is verified and release() when done.
import { GatewayError } from '@agentgate/errors';

export interface SessionQuotaLimits {
  /** Sessions the whole gateway holds. */
  maxSessions: number;
  /** Sessions one identity may hold as acting agent, and (separately) have held in its name as subject. */
  maxSessionsPerIdentity: number;
}

/** Who a session is for: the subject (`sub`) and the acting agent. */
export interface SessionParties {
  subject: string;
  /** The current actor (outermost act.sub), or the subject when the token is not delegated. */
  actor: string;
}

export interface SessionQuota {
  /** Counts a session in, or throws AG_ERR_SESSION_LIMIT (counting nothing); the release is idempotent. */
  admit(parties: SessionParties): () => void;
  /** Sessions admitted and not yet released. */
  readonly admitted: number;
  /** Sessions `identity` holds as acting agent. */
  asActor(identity: string): number;
  /** Sessions held in the name of `identity` as subject. */
  asSubject(identity: string): number;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function decrement(map: Map<string, number>, key: string): void {
  const left = (map.get(key) ?? 1) - 1;
  if (left <= 0) map.delete(key);
  else map.set(key, left);
}

export function createSessionQuota(limits: SessionQuotaLimits): SessionQuota {
  const byActor = new Map<string, number>();
  const bySubject = new Map<string, number>();
  let admitted = 0;
  return {
    admit({ subject, actor }) {
      const limit = limits.maxSessionsPerIdentity;
      // Every check before any count changes, so a refusal leaves nothing to release.
      if (admitted >= limits.maxSessions)
        throw new GatewayError('AG_ERR_SESSION_LIMIT', `the gateway holds its maximum of ${limits.maxSessions} sessions`);
      const acting = byActor.get(actor) ?? 0;
      if (acting >= limit) {
        const forWhom = actor === subject ? '' : ` (now acting for ${subject})`;
        throw new GatewayError(
          'AG_ERR_SESSION_LIMIT',
          `the acting agent ${actor}${forWhom} already holds ${acting} sessions (limit ${limit})`,
        );
      }
      const inName = bySubject.get(subject) ?? 0;
      if (inName >= limit) {
        throw new GatewayError(
          'AG_ERR_SESSION_LIMIT',
          `the subject ${subject} already has ${inName} sessions held in its name (limit ${limit}); refused for ${actor}`,
        );
      }
      admitted++;
      increment(byActor, actor);
      increment(bySubject, subject);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        admitted--;
        decrement(byActor, actor);
        decrement(bySubject, subject);
      };
    },
    get admitted() {
      return admitted;
    },
    asActor: (identity) => byActor.get(identity) ?? 0,
    asSubject: (identity) => bySubject.get(identity) ?? 0,
  };
}

/**
 * The acting agent of a verified identity. `actChain` is in delegation order (libs/identity):
 * the principal first, the current actor (outermost act.sub) last; empty without delegation.
 */
export function actingAgent(identity: { subject: string; actChain: readonly { subject: string }[] }): string {
  const current = identity.actChain.length > 1 ? identity.actChain[identity.actChain.length - 1] : undefined;
  return current?.subject ?? identity.subject;
}
