// Who may do what on the broker: one principal per service, each allowed only what it
// needs. The broker denies everything else (allow.everyone.if.no.acl.found=false); the
// stack's own principals (broker, controller, admin) are super users and appear nowhere here.
import kafkajs, { type AclEntry, type DescribeAclResource } from 'kafkajs';
import { chainedTopics, verdictTopics } from '@agentgate/events';

// kafkajs is CommonJS; these enums are not visible as named ES exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** The Kafka principals (SCRAM user names) of agentgate's services and operators. */
export const PRINCIPALS = Object.freeze({
  ingressPostgres: 'ingress-postgres',
  ingressSsh: 'ingress-ssh',
  ingressHttp: 'ingress-http',
  policyProcessor: 'policy-processor',
  projector: 'projector',
  approvalService: 'approval-service',
  /** Signs checkpoints of every chain's head: reads the audit topics, the only writer of checkpoints. */
  checkpointer: 'checkpointer',
  /** Search, replay, verification, reports, legal holds and retention: the only writer of governance events. */
  auditApi: 'audit-api',
  /** Administrators' tools (the CLI's kill, policy publish): the only writers of the control and policies topics. */
  operator: 'operator',
});

/** Consumer group ids each service uses (their config defaults), matched by prefix. */
export const GROUP_PREFIXES = Object.freeze({
  ingressPostgres: 'agentgate-ingress-postgres',
  ingressSsh: 'agentgate-ingress-ssh',
  ingressHttp: 'agentgate-ingress-http',
  policyProcessor: 'agentgate-policy-processor',
  projector: 'agentgate-projector',
  approvalService: 'agentgate-approval-service',
  checkpointer: 'agentgate-checkpointer',
  auditApi: 'agentgate-audit-api',
});

export type AclOperation = 'read' | 'write' | 'describe';

export interface AclGrant {
  principal: string;
  resource: 'topic' | 'group';
  name: string;
  pattern: 'literal' | 'prefixed';
  operation: AclOperation;
}

export interface AuditTopicNames {
  ingress: string;
  verdicts: string;
  sshVerdicts: string;
  httpVerdicts: string;
  control: string;
  approvals: string;
  approvalDecisions: string;
  policies: string;
  shadowVerdicts: string;
  checkpoints: string;
  governance: string;
}

/** Every grant the pipeline needs; anything not listed is denied by the broker. */
export function pipelineAcls(topics: AuditTopicNames): AclGrant[] {
  const grants: AclGrant[] = [];
  const topic = (principal: string, name: string, ...operations: AclOperation[]): void => {
    for (const operation of operations) grants.push({ principal, resource: 'topic', name, pattern: 'literal', operation });
  };
  const group = (principal: string, prefix: string): void => {
    grants.push({ principal, resource: 'group', name: prefix, pattern: 'prefixed', operation: 'read' });
  };
  const { ingressPostgres, ingressSsh, ingressHttp, policyProcessor, projector, approvalService, checkpointer, auditApi, operator } =
    PRINCIPALS;
  const chained = chainedTopics(topics);
  // Ingress: writes what it observes (and blast radius estimates for approvals), reads its own
  // protocol's verdicts (each ingress its own topic: no other ingress reads a database's) and
  // admin commands.
  topic(ingressPostgres, topics.ingress, 'write', 'describe');
  topic(ingressPostgres, topics.approvals, 'write', 'describe');
  topic(ingressPostgres, topics.verdicts, 'read', 'describe');
  topic(ingressPostgres, topics.control, 'read', 'describe');
  group(ingressPostgres, GROUP_PREFIXES.ingressPostgres);
  // The SSH ingress writes requests, responses and terminal recordings, and reads verdicts and kills.
  topic(ingressSsh, topics.ingress, 'write', 'describe');
  topic(ingressSsh, topics.sshVerdicts, 'read', 'describe');
  topic(ingressSsh, topics.control, 'read', 'describe');
  group(ingressSsh, GROUP_PREFIXES.ingressSsh);
  // The HTTP ingress: requests and responses of HTTP calls and MCP sessions; it reads verdicts,
  // and kills (an MCP session lives long enough to be killed).
  topic(ingressHttp, topics.ingress, 'write', 'describe');
  topic(ingressHttp, topics.httpVerdicts, 'read', 'describe');
  topic(ingressHttp, topics.control, 'read', 'describe');
  group(ingressHttp, GROUP_PREFIXES.ingressHttp);
  // Policy processor: reads requests and published policies; the only writer of verdicts,
  // live and shadow.
  topic(policyProcessor, topics.ingress, 'read', 'describe');
  topic(policyProcessor, topics.policies, 'read', 'describe');
  for (const name of verdictTopics(topics)) topic(policyProcessor, name, 'write', 'describe');
  topic(policyProcessor, topics.shadowVerdicts, 'write', 'describe');
  // ... and of approval requests and grant uses; it reads approvals' outcomes to grant.
  topic(policyProcessor, topics.approvals, 'read', 'write', 'describe');
  topic(policyProcessor, topics.approvalDecisions, 'read', 'describe');
  group(policyProcessor, GROUP_PREFIXES.policyProcessor);
  // Approval service: rebuilds its state from approvals and its own decisions; the only writer of decisions.
  topic(approvalService, topics.approvals, 'read', 'describe');
  topic(approvalService, topics.approvalDecisions, 'read', 'write', 'describe');
  group(approvalService, GROUP_PREFIXES.approvalService);
  // Projector: reads every audit topic and the policy publications (their audit trail), writes none.
  for (const name of [...chained, topics.checkpoints, topics.policies]) topic(projector, name, 'read', 'describe');
  group(projector, GROUP_PREFIXES.projector);
  // Checkpointer: reads every hash-chained topic, the only writer of checkpoints (it reads its own to resume its chain).
  for (const name of chained) topic(checkpointer, name, 'read', 'describe');
  topic(checkpointer, topics.checkpoints, 'read', 'write', 'describe');
  group(checkpointer, GROUP_PREFIXES.checkpointer);
  // Audit API: the only writer of legal holds and retention records (it reads them back to list holds).
  topic(auditApi, topics.governance, 'read', 'write', 'describe');
  group(auditApi, GROUP_PREFIXES.auditApi);
  // Operators: the only writers of admin commands and of policies.
  topic(operator, topics.control, 'write', 'describe');
  topic(operator, topics.policies, 'write', 'describe');
  return grants;
}

const OPERATIONS = {
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  describe: AclOperationTypes.DESCRIBE,
} as const;

/** The grants as kafkajs ACL entries (createAcls is idempotent on the broker). */
export function toKafkaAcls(grants: readonly AclGrant[]): AclEntry[] {
  return grants.map((g) => ({
    principal: `User:${g.principal}`,
    host: '*',
    resourceType: g.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: g.name,
    resourcePatternType: g.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
    operation: OPERATIONS[g.operation],
    permissionType: AclPermissionTypes.ALLOW,
  }));
}

/** One ACL entry's identity, for comparing the broker's with the plan's. */
function aclKey(a: AclEntry): string {
  return [a.principal, a.host, a.resourceType, a.resourceName, a.resourcePatternType, a.operation, a.permissionType].join('\u0000');
}

/**
 * The entries the broker holds for agentgate's own principals that the plan no longer grants
 * (e.g. the SSH and HTTP ingresses' read of the PostgreSQL verdict topic, before each ingress had
 * its own): createAcls only adds, so these are deleted for the plan to be all that is allowed.
 * Entries of other principals are never touched.
 */
export function staleAcls(onBroker: readonly DescribeAclResource[], plan: readonly AclEntry[]): AclEntry[] {
  const ours = new Set(Object.values(PRINCIPALS).map((p) => `User:${p}`));
  const planned = new Set(plan.map(aclKey));
  const stale: AclEntry[] = [];
  for (const resource of onBroker) {
    for (const acl of resource.acls) {
      const entry: AclEntry = {
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        resourcePatternType: resource.resourcePatternType,
        principal: acl.principal,
        host: acl.host,
        operation: acl.operation,
        permissionType: acl.permissionType,
      };
      if (ours.has(acl.principal) && !planned.has(aclKey(entry))) stale.push(entry);
    }
  }
  return stale;
}
