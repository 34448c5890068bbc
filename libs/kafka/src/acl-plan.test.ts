import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { PRINCIPALS, pipelineAcls, staleAcls, toKafkaAcls } from './acl-plan.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const topics = {
  ingress: 'p.ingress.v1',
  verdicts: 'p.verdicts.v1',
  sshVerdicts: 'p.verdicts-ssh.v1',
  httpVerdicts: 'p.verdicts-http.v1',
  control: 'p.control.v1',
  approvals: 'p.approvals.v1',
  approvalDecisions: 'p.approval-decisions.v1',
  policies: 'p.policies.v1',
  shadowVerdicts: 'p.shadow-verdicts.v1',
  checkpoints: 'p.checkpoints.v1',
  governance: 'p.governance.v1',
};
const grants = pipelineAcls(topics);
const writers = (topic: string): string[] =>
  grants.filter((g) => g.resource === 'topic' && g.name === topic && g.operation === 'write').map((g) => g.principal);

test('only the policy processor may write verdicts, only the ingress requests, only operators admin commands', () => {
  for (const t of [topics.verdicts, topics.sshVerdicts, topics.httpVerdicts]) assert.deepEqual(writers(t), [PRINCIPALS.policyProcessor]);
  assert.deepEqual(writers(topics.ingress), [PRINCIPALS.ingressPostgres, PRINCIPALS.ingressSsh, PRINCIPALS.ingressHttp]);
  assert.deepEqual(writers(topics.control), [PRINCIPALS.operator]);
  assert.deepEqual(writers(topics.approvals), [PRINCIPALS.ingressPostgres, PRINCIPALS.policyProcessor]);
});

test('only the approval service may write the decisions grants come from', () => {
  assert.deepEqual(writers(topics.approvalDecisions), [PRINCIPALS.approvalService]);
});

test('only the checkpointer may sign checkpoints, only the audit API may write holds and retention', () => {
  assert.deepEqual(writers(topics.checkpoints), [PRINCIPALS.checkpointer]);
  assert.deepEqual(writers(topics.governance), [PRINCIPALS.auditApi]);
});

test('only operators may publish policies; only the policy processor may write shadow verdicts', () => {
  assert.deepEqual(writers(topics.policies), [PRINCIPALS.operator]);
  assert.deepEqual(writers(topics.shadowVerdicts), [PRINCIPALS.policyProcessor]);
});

test('readers read only what they need', () => {
  const reads = (principal: string): string[] =>
    grants.filter((g) => g.principal === principal && g.resource === 'topic' && g.operation === 'read').map((g) => g.name);
  assert.deepEqual(reads(PRINCIPALS.ingressPostgres), [topics.verdicts, topics.control]);
  // Each ingress reads its own protocol's verdicts only.
  assert.deepEqual(reads(PRINCIPALS.ingressSsh), [topics.sshVerdicts, topics.control]);
  assert.deepEqual(reads(PRINCIPALS.ingressHttp), [topics.httpVerdicts, topics.control]);
  assert.deepEqual(reads(PRINCIPALS.policyProcessor), [topics.ingress, topics.policies, topics.approvals, topics.approvalDecisions]);
  assert.deepEqual(reads(PRINCIPALS.approvalService), [topics.approvals, topics.approvalDecisions]);
  const chained = [
    topics.ingress,
    topics.verdicts,
    topics.sshVerdicts,
    topics.httpVerdicts,
    topics.control,
    topics.shadowVerdicts,
    topics.approvals,
    topics.approvalDecisions,
    topics.governance,
  ];
  assert.deepEqual(reads(PRINCIPALS.projector), [...chained, topics.checkpoints, topics.policies]);
  assert.deepEqual(reads(PRINCIPALS.checkpointer), [...chained, topics.checkpoints]);
  assert.deepEqual(reads(PRINCIPALS.auditApi), [topics.governance]);
  assert.deepEqual(reads(PRINCIPALS.operator), []);
});

test('grants become literal topic and prefixed group ACLs for User principals', () => {
  const acls = toKafkaAcls(grants);
  assert.equal(acls.length, grants.length);
  assert.ok(acls.every((a) => a.principal.startsWith('User:') && a.host === '*'));
  assert.ok(acls.some((a) => a.resourceName === 'agentgate-projector'));
});

test("stale grants: what the broker holds for agentgate's principals beyond the plan, never another principal's", () => {
  const plan = toKafkaAcls(grants);
  // The broker as the plan left it, grouped by resource as describeAcls answers.
  const byResource = new Map<string, { resourceType: number; resourceName: string; resourcePatternType: number; acls: object[] }>();
  for (const a of plan) {
    const k = `${a.resourceType}/${a.resourceName}/${a.resourcePatternType}`;
    if (!byResource.has(k))
      byResource.set(k, {
        resourceType: a.resourceType,
        resourceName: a.resourceName,
        resourcePatternType: a.resourcePatternType,
        acls: [],
      });
    byResource.get(k)!.acls.push({ principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType });
  }
  const asPlanned = [...byResource.values()] as Parameters<typeof staleAcls>[0];
  assert.deepEqual(staleAcls(asPlanned, plan), []);
  // Before each ingress had its own verdict topic, the SSH ingress read PostgreSQL's.
  const oldRead = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topics.verdicts,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    acls: [
      {
        principal: `User:${PRINCIPALS.ingressSsh}`,
        host: '*',
        operation: AclOperationTypes.READ,
        permissionType: AclPermissionTypes.ALLOW,
      },
      { principal: 'User:someone-else', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
    ],
  };
  assert.deepEqual(staleAcls([...asPlanned, oldRead], plan), [
    {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: topics.verdicts,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${PRINCIPALS.ingressSsh}`,
      host: '*',
      operation: AclOperationTypes.READ,
      permissionType: AclPermissionTypes.ALLOW,
    },
  ]);
});
