import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { checkVerdict, policyVersionOf, sampleSession, type AuditEventOf, type PolicyPublished } from '@agentgate/events';
import { initialUsage } from '@agentgate/policy';
import type { LivePolicy, PolicyEngine } from './policy-engine.js';
import { policyHolder } from './policy-holder.js';
import { asShadowVerdict } from './shadow.js';
import { readBackRanges } from './usage-window.js';

const [, request, verdict] = sampleSession() as [unknown, AuditEventOf<'RequestObserved'>, AuditEventOf<'VerdictIssued'>];

const fake = (version: string): LivePolicy => ({ version, longestWindowUs: 0, decide: () => verdict });
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
  assert.deepEqual(h.apply(publication('demo', 'a')), { applied: true, role: 'live', version: 'demo@a00000000000' });
  assert.equal(h.live.version, 'demo@a00000000000');
  h.apply(publication('demo', 'b'));
  assert.equal(h.live.version, 'demo@b00000000000');
});

test('given a publication that does not compile, when applied, it is ignored and the previous policy stays', () => {
  const h = policyHolder(engine);
  h.apply(publication('demo', 'a'));
  const outcome = h.apply(publication('demo', 'b', false, 'garbage'));
  assert.equal(outcome.applied, false);
  assert.equal(h.live.version, 'demo@a00000000000');
  assert.equal(h.rejected, 1);
});

test('given a publication whose files do not hash to its contentHash, it is ignored', () => {
  const h = policyHolder(engine);
  const forged = { ...publication('demo', 'a'), contentHash: 'c'.repeat(64), version: policyVersionOf('demo', 'c'.repeat(64)) };
  assert.equal(h.apply(forged).applied, false);
  assert.equal(h.live.version, 'minimal-2');
});

test('given a shadow publication, the live policy stays and the shadow decides beside it until its trial ends', () => {
  const h = policyHolder(engine);
  h.apply(publication('demo', 'a'));
  assert.deepEqual(h.apply(publication('demo', 'b', true)), { applied: true, role: 'shadow', version: 'demo@b00000000000' });
  assert.equal(h.live.version, 'demo@a00000000000');
  assert.equal(h.shadow?.version, 'demo@b00000000000');
  assert.equal(h.endShadow('other'), false);
  assert.equal(h.endShadow('demo'), true);
  assert.equal(h.shadow, undefined);
});

test('given the shadow version published live, the trial ends', () => {
  const h = policyHolder(engine);
  h.apply(publication('demo', 'b', true));
  h.apply(publication('demo', 'b'));
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
