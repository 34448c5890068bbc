// The demo identities the dev IdP knows. Each is a confidential OAuth client that gets its own
// token with client_credentials, humans included: this is a development stand-in. Any of them
// can also exchange another identity's token for a delegated one (RFC 8693), which is why the
// principals of delegation (dave, alice, ...) are clients too: they must hold a token of their
// own before anyone can act for them. Real deployments use the organisation's IdP, where humans
// log in interactively (authorization code + MFA) and agents get workload identities; nothing
// here is meant for production.

export type IdentityKind = 'agent' | 'human';

export interface DemoIdentity {
  /** The client_id, and the `sub` of tokens issued to it without delegation. */
  readonly name: string;
  readonly kind: IdentityKind;
  /** The `groups` claim of its tokens. */
  readonly groups: readonly string[];
}

export const DEMO_IDENTITIES: readonly DemoIdentity[] = Object.freeze([
  { name: 'demo-agent', kind: 'agent', groups: ['agents'] },
  { name: 'report-agent', kind: 'agent', groups: ['readonly-agents'] },
  { name: 'dba-agent', kind: 'agent', groups: ['dba-agents'] },
  // An orchestrating agent that hands work on to other agents (the middle hop of a chain).
  { name: 'planner', kind: 'agent', groups: ['agents'] },
  { name: 'alice', kind: 'human', groups: ['approvers'] },
  { name: 'carol', kind: 'human', groups: ['approvers'] },
  { name: 'bob', kind: 'human', groups: ['auditors'] },
  // A human with no gateway group: a principal others act for, never a direct user.
  { name: 'dave', kind: 'human', groups: [] },
  // The local stack's administrator: `agentgate kill` requires a gateway-admins token.
  { name: 'erin', kind: 'human', groups: ['gateway-admins'] },
]);
