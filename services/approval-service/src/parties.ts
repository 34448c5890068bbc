// Who stands behind an identity: its subject and every party of its delegation chain. Self-
// approval is refused when the approver's parties and the requester's parties meet, so an agent
// cannot be approved by the human it acts for, nor by another agent in the same chain, nor can a
// human approve through an agent (libs/identity puts the principal first in actChain; tokens that
// name the agent as subject put the human in the chain: both readings are covered).
import type { Actor, DelegationLink } from '@agentgate/events';

/** One party: a subject and, where known, the issuer that vouches for it. */
export interface Party {
  subject: string;
  issuer: string | null;
}

/** An identity as far as approvals care. */
export type PartyHolder = Pick<Actor, 'subject' | 'issuer'> & { actChain: readonly DelegationLink[] };

/** The subject first, then each party of the delegation chain. */
export function partiesOf(actor: PartyHolder): Party[] {
  return [{ subject: actor.subject, issuer: actor.issuer }, ...actor.actChain.map((l) => ({ subject: l.subject, issuer: l.issuer }))];
}

/**
 * The same party: equal subjects, and equal issuers where both are known. An unknown issuer
 * (a delegation link without `iss`) cannot tell two same-named subjects apart, so it counts as
 * the same party: refusing is the safe side of the doubt.
 */
export function sameParty(a: Party, b: Party): boolean {
  return a.subject === b.subject && (a.issuer === null || b.issuer === null || a.issuer === b.issuer);
}

/** Whether any party of `a` is a party of `b`. */
export function partiesMeet(a: PartyHolder, b: PartyHolder): boolean {
  const theirs = partiesOf(b);
  return partiesOf(a).some((p) => theirs.some((q) => sameParty(p, q)));
}

/**
 * The agents acting for an identity, the current one first (how notices and the CLI show a
 * chain: "dba-agent for alice"). libs/identity lists the principal first, then the actors from
 * the earliest to the current; the principal is left out.
 */
export function actingAgents(actor: PartyHolder): string[] {
  const links = actor.actChain.map((l) => l.subject);
  return (links[0] === actor.subject ? links.slice(1) : links).reverse();
}
