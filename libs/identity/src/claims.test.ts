import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readClaimPath, readClientId, readDelegation, readGroups } from './claims.js';

test('given a claim path, when read, then only own properties are followed', () => {
  const claims = JSON.parse('{"a":{"b":["x"]},"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.deepEqual(readClaimPath(claims, ['a', 'b']), ['x']);
  assert.equal(readClaimPath(claims, ['a', 'b', 'c']), undefined);
  assert.equal(readClaimPath(claims, ['constructor']), undefined);
  assert.equal(readClaimPath(claims, ['toString']), undefined);
  assert.deepEqual(readClaimPath(claims, ['__proto__']), { polluted: true }); // an own JSON key, not the prototype
  assert.deepEqual(readGroups({}, ['constructor']), []);
});

test('given groups shapes, when read, then empty entries are dropped and duplicates merged', () => {
  assert.deepEqual(readGroups({ g: '  a  b a ' }, ['g']), ['a', 'b']);
  assert.deepEqual(readGroups({ g: [] }, ['g']), []);
  assert.throws(
    () => readGroups({ g: { a: 1 } }, ['g']),
    (e: { code?: string }) => e.code === 'AG_ERR_TOKEN_CLAIM_MISSING',
  );
  assert.throws(
    () => readGroups({ g: null }, ['g']),
    (e: { code?: string }) => e.code === 'AG_ERR_TOKEN_CLAIM_MISSING',
  );
});

test('given client_id or azp, when the client is read, then client_id wins', () => {
  assert.equal(readClientId({ client_id: 'c', azp: 'a' }), 'c');
  assert.equal(readClientId({ azp: 'a' }), 'a');
  assert.equal(readClientId({}), null);
});

test('given one act, when read, then the chain is principal then actor', () => {
  assert.deepEqual(readDelegation({ act: { sub: 'agent', iss: 'https://i' } }, 'dave', 'https://i'), {
    actChain: [
      { subject: 'dave', issuer: 'https://i', clientId: null },
      { subject: 'agent', issuer: 'https://i', clientId: null },
    ],
    actor: 'agent',
  });
  assert.deepEqual(readDelegation({}, 'dave', 'https://i'), { actChain: [], actor: null });
  assert.throws(
    () => readDelegation({ act: 'agent' }, 'dave', 'https://i'),
    (e: { code?: string }) => e.code === 'AG_ERR_TOKEN_CLAIM_MISSING',
  );
});
