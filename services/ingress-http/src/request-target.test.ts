import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRequestTarget, upstreamPath } from './request-target.js';

const ok = (url: string) => {
  const r = parseRequestTarget(url);
  assert.ok(r.ok, `${url}: ${r.ok ? '' : r.reason}`);
  return r.target;
};

test('splits connection, path and query', () => {
  assert.deepEqual(ok('/registry/v2/_catalog?n=10&last=a'), { connection: 'registry', path: '/v2/_catalog', query: 'n=10&last=a' });
  assert.deepEqual(ok('/registry'), { connection: 'registry', path: '/', query: null });
  assert.deepEqual(ok('/registry/'), { connection: 'registry', path: '/', query: null });
  assert.deepEqual(ok('/registry/v2/?'), { connection: 'registry', path: '/v2/', query: '' });
});

test('normalises escapes once: unreserved decoded, others upper-case, raw bytes escaped, reserved kept', () => {
  assert.equal(ok('/r/%7euser/%41b%2c;x=1').path, '/~user/Ab%2C;x=1');
  assert.equal(ok('/r/caf\u00c3\u00a9').path, '/caf%C3%A9');
  assert.equal(ok('/r/a?q=%2f%41 b').query, 'q=%2FA%20b');
});

test('the path policy sees is the path forwarded, under the base path', () => {
  const t = ok('/r/users/%61lice/../x'.replace('/../x', '/x'));
  assert.equal(upstreamPath('/api', t), '/api/users/alice/x');
  assert.equal(upstreamPath('', ok('/r/a?b=c')), '/a?b=c');
});

test('refuses traversal, encoded slashes, malformed escapes and what is not origin-form', () => {
  for (const url of [
    '/r/a/../b',
    '/r/..',
    '/r/%2e%2e/admin',
    '/r/.%2E/admin',
    '/r/./a',
    '/r/a%2fb',
    '/r/a%2Fb',
    '/r/a%5cb',
    '/r/a\\b',
    '/r/a%00b',
    '/r/a%0d%0ab',
    '/r/a%zz',
    '/r/a%4',
    '/r/%ff',
    '/r/a?x=%g1',
    '/r/a//b',
    '/r/a#frag',
    'http://evil/r/a',
    '*',
    '/',
    '//r/a',
    '/%72/a',
  ]) {
    assert.equal(parseRequestTarget(url).ok, false, url);
  }
});
