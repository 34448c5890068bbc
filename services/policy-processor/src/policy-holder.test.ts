import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { checkVerdict, policyVersionOf, sampleSession, type AuditEventOf, type PolicyPublished } from '@agentgate/events';
import { initialUsage } from '@agentgate/policy';
import type { LivePolicy, PolicyEngine } from './policy-engine.js';
import { policyHolder, type PolicyHolder, type PublicationOutcome } from './policy-holder.js';
import { asShadowVerdict } from './shadow.js';
import { readBackRanges } from './usage-window.js';

const [, request, verdict] = sampleSession() as [unknown, AuditEventOf<'RequestObserved'>, AuditEventOf<'VerdictIssued'>];

const fake = (version: string): LivePolicy => ({ version, longestWindowUs: 0, decide: () => verdict, approvalSpec: () => null });
const usage = initialUsage();
/** Compiles `name:<policy>` files; anything else does not compile. */
const engine: PolicyEngine = {
  builtIn: () => fake('minimal-2'),
  compile(files) {
    const text = files[0]?.text ?? '';
    if (!text.startsWith('name:')) throw new GatewayError('AG_ERR_CONFIG_INVALID', 'does not compile');
    const policyName = text.slice(5).trim();
    const contentHash = (files[0]?.name ?? '').padEnd(64, '0');
    return { policyName, contentHash, policy: fake(policyVersionOf(policyName, contentHash)) };
  },
  emptyUsage: () => usage,
  evolveUsage: (u) => u,
};

let offset = 0n;
/** Applies at the next offset of the (one-partition) topic. */
const at = (h: PolicyHolder, p: PolicyPublished): PublicationOutcome => h.apply(p, offset++);

function publication(name: string, fileName: string, shadow = false, text = `name: ${name}`): PolicyPublished {
  const contentHash = fileName.padEnd(64, '0');
  return {
    eventId: 'e',
    policyName: name,
    version: policyVersionOf(name, contentHash),
    contentHash,
    files: [{ name: fileName, text }],
    shadow,
    publishedBy: 'erin',
    publisherIssuer: 'i',
    publishedAtUs: 1,
    producer: 'cli/test/1',
  };
}

test('given no publication, the built-in policy is live and there is no shadow', () => {
  const h = policyHolder(engine);
  assert.equal(h.live.version, 'minimal-2');
  assert.equal(h.shadow, undefined);
});

test('given a publication, when applied, the live policy is swapped to its version', () => {
  const h = policyHolder(engine);
  assert.deepEqual(at(h, publication('demo', 'a')), { applied: true, role: 'live', version: 'demo@a00000000000' });
  assert.equal(h.live.version, 'demo@a00000000000');
  at(h, publication('demo', 'b'));
  assert.equal(h.live.version, 'demo@b00000000000');
});

test('given a publication that does not compile, when applied, it is ignored and the previous policy stays', () => {
  const h = policyHolder(engine);
  at(h, publication('demo', 'a'));
  const outcome = at(h, publication('demo', 'b', false, 'garbage'));
  assert.equal(outcome.applied, false);
  assert.equal(h.live.version, 'demo@a00000000000');
  assert.equal(h.rejected, 1);
});

test('given a publication whose files do not hash to its contentHash, it is ignored', () => {
  const h = policyHolder(engine);
  const forged = { ...publication('demo', 'a'), contentHash: 'c'.repeat(64), version: policyVersionOf('demo', 'c'.repeat(64)) };
  assert.equal(at(h, forged).applied, false);
  assert.equal(h.live.version, 'minimal-2');
});

test('given a shadow publication, the live policy stays and the shadow decides beside it until its trial ends', () => {
  const h = policyHolder(engine);
  at(h, publication('demo', 'a'));
  assert.deepEqual(at(h, publication('demo', 'b', true)), { applied: true, role: 'shadow', version: 'demo@b00000000000' });
  assert.equal(h.live.version, 'demo@a00000000000');
  assert.equal(h.shadow?.version, 'demo@b00000000000');
  assert.equal(h.withdraw('other', true), false);
  assert.equal(h.withdraw('demo', true), true);
  assert.equal(h.shadow, undefined);
  assert.equal(h.live.version, 'demo@a00000000000');
});

test('given the live policy withdrawn (a tombstone on its key), the newest remaining live publication decides, else the built-in one', () => {
  const h = policyHolder(engine);
  at(h, publication('demo', 'a'));
  at(h, publication('e2e', 'b'));
  assert.equal(h.live.version, 'e2e@b00000000000');
  assert.equal(h.withdraw('e2e', false), true);
  assert.equal(h.live.version, 'demo@a00000000000');
  h.withdraw('demo', false);
  assert.equal(h.live.version, 'minimal-2');
});

test('given what compaction leaves (the latest record per key, in order), a fresh holder ends where a long-running one is', () => {
  const history: [string, PolicyPublished | null][] = [
    ['demo', publication('demo', 'a')],
    ['e2e', publication('e2e', 'b')],
    ['demo', publication('demo', 'c')],
    ['e2e/shadow', publication('e2e', 'd', true)],
    ['e2e', null],
  ];
  const replay = (records: [string, PolicyPublished | null, bigint][]) => {
    const h = policyHolder(engine);
    for (const [key, p, o] of records) {
      if (p) h.apply(p, o);
      else h.withdraw(key.replace(/\/shadow$/, ''), key.endsWith('/shadow'));
    }
    return [h.live.version, h.shadow?.version];
  };
  const all = history.map(([k, p], i) => [k, p, BigInt(i)] as [string, PolicyPublished | null, bigint]);
  const compacted = all.filter(([k], i) => !all.slice(i + 1).some(([later]) => later === k));
  assert.deepEqual(replay(compacted), replay(all));
  assert.deepEqual(replay(all), ['demo@c00000000000', 'e2e@d00000000000']);
});

test('given the shadow version published live, the trial ends', () => {
  const h = policyHolder(engine);
  at(h, publication('demo', 'b', true));
  at(h, publication('demo', 'b'));
  assert.equal(h.live.version, 'demo@b00000000000');
  assert.equal(h.shadow, undefined);
});

test('a shadow verdict answers the request authentically, is marked shadow, has its own id, and the ingress refuses it', () => {
  const shadow = asShadowVerdict(verdict, request);
  assert.equal(shadow.payload.shadow, true);
  assert.notEqual(shadow.eventId, verdict.eventId);
  assert.equal(shadow.seq, request.seq + 1);
  assert.equal(shadow.prevHash, request.hash);
  assert.deepEqual(asShadowVerdict(verdict, request), shadow, 'deterministic');
  assert.deepEqual(checkVerdict(shadow, request, new Set([verdict.producer])), { ok: false, rejection: 'shadow' });
});

test('the guardrail window is read back from its start up to where the group resumes, and no further', () => {
  const byTimestamp = [
    { partition: 0, offset: '5' },
    { partition: 1, offset: '-1' },
    { partition: 2, offset: '9' },
    { partition: 3, offset: '2' },
  ];
  const committed = [
    { partition: 0, offset: '12' },
    { partition: 1, offset: '4' },
    { partition: 2, offset: '9' },
    { partition: 3, offset: '-1' },
  ];
  assert.deepEqual(readBackRanges(byTimestamp, committed), [{ partition: 0, from: 5n, to: 12n }]);
});
