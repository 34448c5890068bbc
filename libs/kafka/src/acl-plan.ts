// Who may do what on the broker: one principal per service, each allowed only what it
// needs. The broker denies everything else (allow.everyone.if.no.acl.found=false); the
// stack's own principals (broker, controller, admin) are super users and appear nowhere here.
import kafkajs, { type AclEntry } from 'kafkajs';
import { chainedTopics } from '@agentgate/events';

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
  // Ingress: writes what it observes (and blast radius estimates for approvals), reads verdicts and admin commands.
  topic(ingressPostgres, topics.ingress, 'write', 'describe');
  topic(ingressPostgres, topics.approvals, 'write', 'describe');
  topic(ingressPostgres, topics.verdicts, 'read', 'describe');
  topic(ingressPostgres, topics.control, 'read', 'describe');
  group(ingressPostgres, GROUP_PREFIXES.ingressPostgres);
  // The SSH ingress writes requests, responses and terminal recordings, and reads verdicts and kills.
  topic(ingressSsh, topics.ingress, 'write', 'describe');
  topic(ingressSsh, topics.verdicts, 'read', 'describe');
  topic(ingressSsh, topics.control, 'read', 'describe');
  group(ingressSsh, GROUP_PREFIXES.ingressSsh);
  // The HTTP ingress: requests and responses of HTTP calls and MCP sessions; it reads verdicts,
  // and kills (an MCP session lives long enough to be killed).
  topic(ingressHttp, topics.ingress, 'write', 'describe');
  topic(ingressHttp, topics.verdicts, 'read', 'describe');
  topic(ingressHttp, topics.control, 'read', 'describe');
  group(ingressHttp, GROUP_PREFIXES.ingressHttp);
  // Policy processor: reads requests and published policies; the only writer of verdicts,
  // live and shadow.
  topic(policyProcessor, topics.ingress, 'read', 'describe');
  topic(policyProcessor, topics.policies, 'read', 'describe');
  topic(policyProcessor, topics.verdicts, 'write', 'describe');
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
