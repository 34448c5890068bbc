import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import { fastify } from 'fastify';
import { installProblemHandlers, problemSender, requireBearer } from './edge.js';

async function app() {
  const a = fastify({ logger: false });
  const send = problemSender((code) =>
    code === 'AG_ERR_BAD_REQUEST' ? 400 : code.startsWith('AG_ERR_TOKEN_') ? 401 : code === 'AG_ERR_UNAUTHENTICATED' ? 401 : 500,
  );
  const internal: string[] = [];
  installProblemHandlers(a, send, (code) => internal.push(code));
  requireBearer(a, {
    verifyToken: async (token) => {
      if (token !== 'good' && token !== 'outsider') throw new GatewayError('AG_ERR_TOKEN_SIGNATURE_INVALID');
      return token;
    },
    send,
    admit: (caller, _request, reply) => (caller === 'outsider' ? send(reply, 'AG_ERR_FORBIDDEN', 'no', 403) : undefined),
  });
  a.get('/v1/thing', async () => ({ ok: true }));
  a.get('/v1/boom', async () => {
    throw new Error('secret detail');
  });
  return { a, internal };
}

test('every spelling of a route authenticates: no token, a bad one, a caller not admitted', async () => {
  const { a } = await app();
  for (const url of ['/v1/thing', '/%76%31/thing', '/v%31/thing', '/elsewhere']) {
    const none = await a.inject({ url });
    assert.equal(none.statusCode, 401, url);
    assert.equal(none.json().code, 'AG_ERR_UNAUTHENTICATED');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await a.inject({ url, headers: { authorization: 'Bearer bad' } })).json().code, 'AG_ERR_TOKEN_SIGNATURE_INVALID');
    assert.equal((await a.inject({ url, headers: { authorization: 'Bearer outsider' } })).statusCode, 403);
  }
  assert.equal((await a.inject({ url: '/%76%31/thing', headers: { authorization: 'Bearer good' } })).statusCode, 200);
});

test('an unexpected error is a problem without its message; its code goes to the log hook', async () => {
  const { a, internal } = await app();
  const r = await a.inject({ url: '/v1/boom', headers: { authorization: 'Bearer good' } });
  assert.equal(r.statusCode, 500);
  assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(r.json().code, 'AG_ERR_INTERNAL');
  assert.ok(!r.body.includes('secret detail'));
  assert.deepEqual(internal, ['AG_ERR_INTERNAL']);
});
