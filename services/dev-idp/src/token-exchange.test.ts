import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_ACT_DEPTH,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  exchangedClaims,
  exchangedLifetimeSec,
  parseExchangeRequest,
  type ActClaim,
} from './token-exchange.js';

const GATEWAY = { audience: 'agentgate', resource: 'urn:agentgate', scope: 'agentgate:connect' };
const ISSUER = 'http://127.0.0.1:14000';

test('the subject token and its type are required; actor tokens and foreign targets are not accepted', () => {
  assert.deepEqual(parseExchangeRequest({ subject_token: 't', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }, GATEWAY), {
    ok: true,
    subjectToken: 't',
  });
  assert.equal(
    parseExchangeRequest({ subject_token: 't', subject_token_type: TOKEN_TYPE_JWT, scope: 'agentgate:connect' }, GATEWAY).ok,
    true,
  );
  const refused: [Record<string, string>, string][] = [
    [{}, 'invalid_request'],
    [{ subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }, 'invalid_request'],
    [{ subject_token: '', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }, 'invalid_request'],
    [{ subject_token: 't' }, 'invalid_request'],
    [{ subject_token: 't', subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request'],
    [{ subject_token: 't', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, actor_token: 'a' }, 'invalid_request'],
    [{ subject_token: 't', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, requested_token_type: 'urn:x' }, 'invalid_request'],
    [{ subject_token: 't', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, scope: 'admin' }, 'invalid_request'],
    [{ subject_token: 'x'.repeat(16_385), subject_token_type: TOKEN_TYPE_ACCESS_TOKEN }, 'invalid_request'],
    [{ subject_token: 't', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, audience: 'other' }, 'invalid_target'],
    [{ subject_token: 't', subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, resource: 'urn:other' }, 'invalid_target'],
  ];
  for (const [params, error] of refused) {
    const result = parseExchangeRequest(params, GATEWAY);
    assert.equal(result.ok, false, JSON.stringify(params).slice(0, 80));
    assert.equal(result.ok ? '' : result.error, error, JSON.stringify(params).slice(0, 80));
  }
});

test("the client becomes the current actor over the subject token's own chain", () => {
  assert.deepEqual(exchangedClaims('planner', { sub: 'alice', exp: 100 }, ISSUER), {
    ok: true,
    sub: 'alice',
    act: { sub: 'planner' },
    notAfterSec: 100,
  });
  assert.deepEqual(exchangedClaims('dba-agent', { sub: 'alice', exp: 100, act: { sub: 'planner' } }, ISSUER), {
    ok: true,
    sub: 'alice',
    act: { sub: 'dba-agent', act: { sub: 'planner' } },
    notAfterSec: 100,
  });
});

test('may_act: only the named actor (of this issuer) may act for the subject', () => {
  const token = { sub: 'alice', exp: 100, may_act: { sub: 'planner' } };
  assert.equal(exchangedClaims('planner', token, ISSUER).ok, true);
  const refused = exchangedClaims('demo-agent', token, ISSUER);
  assert.equal(refused.ok ? '' : refused.error, 'invalid_grant');
  assert.equal(exchangedClaims('planner', { ...token, may_act: { sub: 'planner', iss: ISSUER } }, ISSUER).ok, true);
  for (const mayAct of [{ sub: 'planner', iss: 'https://elsewhere' }, 'planner', null, [], {}]) {
    assert.equal(exchangedClaims('planner', { ...token, may_act: mayAct }, ISSUER).ok, false, JSON.stringify(mayAct));
  }
});

test('malformed chains and chains deeper than the gateway accepts are refused', () => {
  for (const act of [{}, { sub: '' }, { sub: 1 }, 'planner', { sub: 'planner', act: 'x' }]) {
    const result = exchangedClaims('dba-agent', { sub: 'alice', exp: 100, act }, ISSUER);
    assert.equal(result.ok ? '' : result.error, 'invalid_grant', JSON.stringify(act));
  }
  const chain = (n: number): ActClaim => (n === 1 ? { sub: 'a1' } : { sub: `a${n}`, act: chain(n - 1) });
  // The new token holds the client plus the subject token's chain.
  assert.equal(exchangedClaims('c', { sub: 'alice', exp: 100, act: chain(MAX_ACT_DEPTH - 1) }, ISSUER).ok, true);
  assert.equal(exchangedClaims('c', { sub: 'alice', exp: 100, act: chain(MAX_ACT_DEPTH) }, ISSUER).ok, false);
  assert.equal(exchangedClaims('c', { exp: 100 }, ISSUER).ok, false);
  assert.equal(exchangedClaims('c', { sub: 'alice' }, ISSUER).ok, false);
});

test('an exchanged token never outlives its subject token', () => {
  assert.equal(exchangedLifetimeSec(3600, 1060, 1000), 60);
  assert.equal(exchangedLifetimeSec(30, 1060, 1000), 30);
  assert.equal(exchangedLifetimeSec(30, 1000, 1000), 0);
});
