// given (past events) / when (a request is decided with a compiled policy) / then (the verdict).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalEventText,
  chainEvent,
  nextLink,
  sampleSession,
  verifyChain,
  type AuditEvent,
  type AuditEventOf,
} from '@agentgate/events';
import {
  compilePolicy,
  decide,
  emptyFacts,
  evolveUsage,
  initialUsage,
  type EngineState,
  type SqlInput,
  type StatementFacts,
} from './index.js';
import { compileMaskingPlan, fromVerdictRules } from '@agentgate/masking';
import { requestEvent, responseEvent } from './test-events.js';

const POLICY = `policy: gw
masking:
  pii-default:
    columns:
      - { schema: public, table: customers, column: card, strategy: partial, keep: 4 }
      - { column: email, strategy: tokenize }
    detectors: { card: redact, email: tokenize }
  cards:
    columns:
      - { schema: public, table: customers, column: card, strategy: redact }
      - { schema: public, table: payments, column: pan, strategy: partial }
    detectors: [card, iban]
    defaultDetectorStrategy: null
rules:
  - id: read
    description: agents may read public
    match: { identity: { groups: [agents] }, sql: { classes: [select], reads: [public.*] } }
    action: allow
  - id: pii
    description: customers are masked
    match: { sql: { reads: [public.customers] } }
    action: mask
    masking: pii-default
  - id: cards
    description: card numbers are masked
    match: { sql: { reads: [public.customers, public.payments] } }
    action: mask
    masking: cards
  - id: del
    description: deletes need approval
    match: { sql: { classes: [delete] } }
    action: approve
    approval: { groups: [approvers], quorum: 2, expiry: 1h, grant: 5m }
  - id: budget
    description: at most 3 statements a minute per acting agent
    kind: budget
    per: actor
    window: 1m
    limits: { statements: 3 }
    action: deny
  - id: rows
    description: at most 100 rows read an hour per subject, then ask
    kind: budget
    per: subject
    window: 1h
    limits: { rowsRead: 100 }
    action: approve
    approval: { groups: [approvers] }
`;

function compiled() {
  const r = compilePolicy([{ name: 'p.yaml', text: POLICY }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const sel = (rel: string): StatementFacts => ({ ...emptyFacts('SelectStmt', ['select']), reads: [{ schema: 'public', name: rel }] });
const del: StatementFacts = {
  ...emptyFacts('DeleteStmt', ['delete']),
  reads: [{ schema: 'public', name: 'o' }],
  writes: [{ schema: 'public', name: 'o' }],
};

function given(events: AuditEvent[] = []) {
  const state: EngineState = { policy: compiled(), usage: events.reduce(evolveUsage, initialUsage()) };
  return {
    when(facts: StatementFacts[] | 'unparseable', opts: { shadow?: boolean } = {}) {
      const [opened, sample] = sampleSession() as [AuditEvent, AuditEventOf<'RequestObserved'>];
      const { seq: _s, prevHash: _p, hash: _h, ...unchained } = sample;
      const request = chainEvent(
        { ...unchained, timeUs: 1_795_000_000_000_000 + 59_000_000 },
        nextLink(opened),
      ) as AuditEventOf<'RequestObserved'>;
      const sql: SqlInput = { statements: facts, searchPathKnown: true };
      const out = decide(
        { type: 'DecideRequest', subject: { request, classification: { statementKind: 'x', statementKinds: [] }, sql } },
        { ...state, shadow: opts.shadow },
      ) as AuditEventOf<'VerdictIssued'>[];
      return { verdict: out[0]!, history: [opened, request], count: out.length };
    },
  };
}

test('given no history, when a read of public is decided, then allow by read, with the version', () => {
  const { verdict, history, count } = given().when([sel('orders')]);
  assert.equal(count, 1);
  assert.deepEqual(
    { d: verdict.payload.decision, r: verdict.payload.ruleId, e: verdict.payload.errorCode, v: verdict.payload.policyVersion },
    { d: 'allow', r: 'read', e: null, v: compiled().version },
  );
  assert.equal(verdict.payload.reason, 'agents may read public');
  assert.deepEqual(verifyChain([...history, verdict]), { ok: true, length: 3 });
});

test('given no history, when payments are read, then allow by read with the plan of the one set that matched', () => {
  const { verdict } = given().when([sel('payments')]);
  assert.deepEqual([verdict.payload.decision, verdict.payload.ruleId], ['allow', 'read']);
  assert.match(verdict.payload.reason, /^agents may read public; masked by cards \(masking rule set cards\)$/);
  assert.deepEqual(verdict.payload.maskingPlan, [
    { target: 'column:public.customers.card', strategy: 'redact', detector: null },
    { target: 'column:public.payments.pan', strategy: 'partial', detector: null },
    { target: 'detectors:default', strategy: 'null', detector: null },
    { target: 'detector:card', strategy: 'null', detector: 'card' },
    { target: 'detector:iban', strategy: 'null', detector: 'iban' },
  ]);
});

test('given no history, when customers are read, then one plan merging both sets in rule order', () => {
  const { verdict } = given().when([sel('customers')]);
  assert.deepEqual([verdict.payload.decision, verdict.payload.ruleId, verdict.payload.errorCode], ['allow', 'read', null]);
  assert.deepEqual(verdict.payload.maskingPlan, [
    { target: 'column:public.customers.card', strategy: 'partial:4', detector: null },
    { target: 'column:..email', strategy: 'tokenize', detector: null },
    { target: 'column:public.customers.card', strategy: 'redact', detector: null },
    { target: 'column:public.payments.pan', strategy: 'partial', detector: null },
    { target: 'detectors:default', strategy: 'redact', detector: null },
    { target: 'detector:card', strategy: 'redact', detector: 'card' },
    { target: 'detector:email', strategy: 'tokenize', detector: 'email' },
    // From the second set, with that set's default (null), not the first set's (redact).
    { target: 'detector:iban', strategy: 'null', detector: 'iban' },
  ]);
  // What the ingress will do with it: the first set's column rule wins, the second set's detector is on.
  const decoded = fromVerdictRules(verdict.payload.maskingPlan);
  assert.ok(decoded.ok, JSON.stringify(decoded));
  const plan = compileMaskingPlan(decoded.plan, { current: { id: 'k', secret: new Uint8Array(32).fill(1) } });
  const card = plan.forColumn({ connection: 'demo', schema: 'public', table: 'customers', column: 'card' });
  assert.equal(plan.maskCell(card, '4111111111111111').value, '************1111');
  assert.equal(plan.maskText('iban DE89370400440532013000').text, null);
});

test('given no history, when an UPDATE of customers is decided, then the mask rules grant nothing: deny, no plan', () => {
  const upd: StatementFacts = { ...emptyFacts('UpdateStmt', ['update']), reads: [{ schema: 'public', name: 'customers' }] };
  const { verdict } = given().when([upd]);
  assert.deepEqual([verdict.payload.decision, verdict.payload.ruleId], ['deny', null]);
  assert.deepEqual(verdict.payload.maskingPlan, []);
});

test('given no history, when a DELETE of customers waits for approval, then the plan waits with it', () => {
  const delCustomers: StatementFacts = {
    ...emptyFacts('DeleteStmt', ['delete']),
    reads: [{ schema: 'public', name: 'customers' }],
    writes: [{ schema: 'public', name: 'customers' }],
  };
  const { verdict } = given().when([delCustomers]);
  assert.deepEqual([verdict.payload.decision, verdict.payload.ruleId], ['pending_approval', 'del']);
  assert.equal(verdict.payload.maskingPlan[0]?.target, 'column:public.customers.card');
  assert.equal(verdict.payload.maskingPlan.length, 8);
});

test('given no history, when a DELETE is decided, then pending_approval by del, refused until approved', () => {
  const { verdict } = given().when([del]);
  assert.equal(verdict.payload.decision, 'pending_approval');
  assert.equal(verdict.payload.ruleId, 'del');
  assert.equal(verdict.payload.errorCode, 'AG_ERR_POLICY_DENIED');
  assert.match(verdict.payload.reason, /approval by approvers, quorum 2/);
});

test('given no history, when unparseable SQL is decided, then deny by the default, saying why', () => {
  const { verdict } = given().when('unparseable');
  assert.equal(verdict.payload.decision, 'deny');
  assert.equal(verdict.payload.ruleId, null);
  assert.match(verdict.payload.reason, /could not be parsed/);
});

test('given 3 statements by the acting agent in the last minute, when a 4th, then deny by budget', () => {
  const t0 = 1_795_000_000_000_000;
  const history = [requestEvent('a', t0 + 1_000_000), requestEvent('b', t0 + 2_000_000), requestEvent('c', t0 + 3_000_000)];
  // The sample request's acting agent is demo-agent's actor "dave"; count for dave.
  const asDave = history.map((e) => ({
    ...e,
    actor: { ...e.actor!, subject: 'demo-agent', actChain: [{ subject: 'dave', issuer: null, clientId: null }] },
  }));
  const { verdict } = given(asDave).when([sel('orders')]);
  assert.equal(verdict.payload.decision, 'deny');
  assert.equal(verdict.payload.ruleId, 'budget');
  assert.match(verdict.payload.reason, /actor dave on demo: 3 statements in the last 60s \(\+1\) exceeds 3/);
});

test('given 2 statements, when a 3rd, then still allowed (the limit is inclusive)', () => {
  const t0 = 1_795_000_000_000_000;
  const who = {
    subject: 'demo-agent',
    issuer: 'x',
    groups: [],
    actChain: [{ subject: 'dave', issuer: null, clientId: null }],
    tokenId: null,
    authMethod: 'none',
  };
  const { verdict } = given([requestEvent('a', t0, 'demo', who), requestEvent('b', t0 + 1, 'demo', who)]).when([sel('orders')]);
  assert.equal(verdict.payload.decision, 'allow');
});

test('given statements older than the window, when a new one, then they no longer count', () => {
  const old = 1_795_000_000_000_000 - 10_000_000;
  const who = {
    subject: 'demo-agent',
    issuer: 'x',
    groups: [],
    actChain: [{ subject: 'dave', issuer: null, clientId: null }],
    tokenId: null,
    authMethod: 'none',
  };
  const { verdict } = given(['a', 'b', 'c', 'd'].map((id, i) => requestEvent(id, old + i, 'demo', who))).when([sel('orders')]);
  assert.equal(verdict.payload.decision, 'allow');
});

test('given 100 rows read by the subject this hour, when another read, then pending_approval by rows', () => {
  const t0 = 1_795_000_000_000_000;
  const who = { subject: 'demo-agent', issuer: 'x', groups: [], actChain: [], tokenId: null, authMethod: 'none' };
  const { verdict } = given([requestEvent('a', t0, 'demo', who), responseEvent('a', t0 + 1, ['SELECT 100'], 100)]).when([sel('orders')]);
  assert.equal(verdict.payload.decision, 'pending_approval');
  assert.equal(verdict.payload.ruleId, 'rows');
});

test('given a shadow policy, when decided, then a shadow verdict with its own event id', () => {
  const live = given().when([sel('orders')]).verdict;
  const shadow = given().when([sel('orders')], { shadow: true }).verdict;
  assert.equal(shadow.payload.shadow, true);
  assert.notEqual(shadow.eventId, live.eventId);
  assert.equal(shadow.payload.decision, live.payload.decision);
});

test('given the same request and state, when decided twice, then byte-identical verdicts', () => {
  assert.equal(canonicalEventText(given().when([del]).verdict), canonicalEventText(given().when([del]).verdict));
});
