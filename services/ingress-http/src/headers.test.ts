import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedRequestHeaders, headerMap, recordedRequestHeaders, returnedResponseHeaders } from './headers.js';

const agent = headerMap([
  'Host',
  'gw:18443',
  'Authorization',
  'Bearer agent-token',
  'Cookie',
  'sid=1',
  'Proxy-Authorization',
  'Basic x',
  'Connection',
  'keep-alive, X-Hop',
  'X-Hop',
  'drop me',
  'Keep-Alive',
  'timeout=5',
  'Transfer-Encoding',
  'chunked',
  'Content-Length',
  '12',
  'Content-Type',
  'application/json',
  'Accept',
  'application/json',
  'Accept-Encoding',
  'gzip',
  'User-Agent',
  'curl/8',
  'X-Forwarded-For',
  '10.0.0.1',
  'Forwarded',
  'for=10.0.0.1',
  'X-Request-Id',
  'r1',
  'X-Api-Key',
  'agent-key',
  'X-Auth-Token',
  't',
  'X-Note',
  'card 4111111111111111',
  'X-Note',
  'second',
  'Accept-Language',
  'en',
]);

test('forwarded: no hop-by-hop, no agent credentials, identity encoding, the rest in order', () => {
  const f = forwardedRequestHeaders(agent);
  for (const name of [
    'host',
    'authorization',
    'cookie',
    'proxy-authorization',
    'connection',
    'x-hop',
    'keep-alive',
    'transfer-encoding',
    'content-length',
    'x-forwarded-for',
    'forwarded',
  ])
    assert.equal(f[name], undefined, name);
  assert.deepEqual(f['accept-encoding'], ['identity']);
  assert.deepEqual(f['x-note'], ['card 4111111111111111', 'second']);
  assert.deepEqual(f['accept-language'], ['en']);
  assert.deepEqual(f['x-api-key'], ['agent-key']);
});

test('recorded: the allow-list only, never a credential, values redacted', () => {
  const r = recordedRequestHeaders(agent, (v) => v.replace(/\d{16}/, '[REDACTED:card]'));
  assert.deepEqual(r, [
    { name: 'content-length', value: '12' },
    { name: 'content-type', value: 'application/json' },
    { name: 'accept', value: 'application/json' },
    { name: 'user-agent', value: 'curl/8' },
    { name: 'x-request-id', value: 'r1' },
    { name: 'x-note', value: 'card [REDACTED:card]' },
    { name: 'x-note', value: 'second' },
  ]);
  const text = JSON.stringify(r).toLowerCase();
  for (const secret of ['agent-token', 'sid=1', 'agent-key', 'authorization', 'cookie']) assert.ok(!text.includes(secret), secret);
});

test('returned: no hop-by-hop, no set-cookie, no spoofed gateway ids; length and digests go when the body is rewritten', () => {
  const upstream = {
    'content-type': 'application/json',
    'content-length': '42',
    etag: '"abc"',
    'content-encoding': 'gzip',
    connection: 'close, x-up-hop',
    'x-up-hop': '1',
    'transfer-encoding': 'chunked',
    'set-cookie': ['a=1', 'b=2'],
    'x-agentgate-session-id': 'forged',
    'cache-control': 'no-cache',
  };
  const kept = returnedResponseHeaders(upstream, { bodyRewritten: false, decoded: false });
  assert.deepEqual(Object.keys(kept).sort(), ['cache-control', 'content-encoding', 'content-length', 'content-type', 'etag']);
  const masked = returnedResponseHeaders(upstream, { bodyRewritten: true, decoded: true });
  assert.deepEqual(Object.keys(masked).sort(), ['cache-control', 'content-type']);
});

test('ranges and method overrides never reach the upstream', () => {
  const f = forwardedRequestHeaders(
    headerMap([
      'Range',
      'bytes=0-3',
      'If-Range',
      '"e"',
      'X-HTTP-Method-Override',
      'DELETE',
      'X-Method-Override',
      'DELETE',
      'Accept',
      '*/*',
    ]),
  );
  assert.deepEqual(Object.keys(f).sort(), ['accept', 'accept-encoding']);
});
