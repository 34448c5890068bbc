// The minimal rule set of the walking skeleton. The real policy engine (rules on parse
// trees, replay, shadow mode) replaces this; the decider's shape stays.
import type { PolicyRule, PolicyState } from './decider.js';

const DROP_KINDS = new Set([
  'DropStmt',
  'DropdbStmt',
  'DropRoleStmt',
  'DropOwnedStmt',
  'DropTableSpaceStmt',
  'DropSubscriptionStmt',
  'DropUserMappingStmt',
]);

const denyDrop: PolicyRule = {
  id: 'deny-drop',
  description: 'DROP of any object is refused',
  decision: 'deny',
  matches: (request) => request.classification.statementKinds.some((k) => DROP_KINDS.has(k)),
};

const denyUnparseable: PolicyRule = {
  id: 'deny-unparseable',
  description: 'statements the PostgreSQL parser cannot read are refused (fail closed)',
  decision: 'deny',
  matches: (request) => request.classification.statementKind === 'UNPARSEABLE',
};

const denyNonSql: PolicyRule = {
  id: 'deny-unsupported-protocol',
  description: 'only SQL requests have rules yet; anything else is refused (fail closed)',
  decision: 'deny',
  matches: (request) => request.request.payload.detail.kind !== 'sql',
};

const dbaOnScratch: PolicyRule = {
  id: 'allow-dba-scratch',
  description: 'group dba-agents may do anything on connection scratch (compatibility suites run real DDL there)',
  decision: 'allow',
  matches: (request) => request.request.payload.connection === 'scratch' && (request.request.actor?.groups.includes('dba-agents') ?? false),
};

/** The minimal policy: refuse DROP and unparseable SQL, allow the rest. */
export function minimalPolicy(): PolicyState {
  return Object.freeze({
    version: 'minimal-2',
    rules: Object.freeze([denyNonSql, dbaOnScratch, denyUnparseable, denyDrop]),
    defaultDecision: 'allow' as const,
  });
}
