import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mayUse, parseHttpCatalog } from './connections.js';

const env = { AG_SECRETS_DIR: '/secrets' };
const doc = (...connections: unknown[]): string => JSON.stringify({ connections });
const registry = {
  name: 'registry',
  protocol: 'http',
  baseUrl: 'http://127.0.0.1:18081/api/',
  allowedGroups: ['agents'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a catalog placeholder under test
  upstreamAuth: { type: 'header', header: 'X-Api-Key', credential: 'file:${AG_SECRETS_DIR}/registry-key' },
};
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

test('an http entry: origin, base path, target, groups and the credential reference expanded', () => {
  const catalog = parseHttpCatalog(doc(registry, { name: 'demo', protocol: 'postgres' }), env);
  assert.deepEqual(catalog.names(), ['registry']);
  const c = catalog.get('registry')!;
  assert.equal(c.origin, 'http://127.0.0.1:18081');
  assert.equal(c.basePath, '/api');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 18081);
  assert.deepEqual(c.upstreamAuth, { type: 'header', header: 'x-api-key', credential: 'file:/secrets/registry-key' });
  assert.equal(mayUse(c, ['agents']), true);
  assert.equal(mayUse(c, ['auditors']), false);
});

test('default ports, no upstreamAuth means none, basic keeps its username', () => {
  const c = parseHttpCatalog(
    doc(
      { name: 'a', protocol: 'http', baseUrl: 'https://api.example', allowedGroups: ['g'] },
      {
        name: 'b',
        protocol: 'http',
        baseUrl: 'http://[::1]',
        allowedGroups: ['g'],
        upstreamAuth: { type: 'basic', username: 'svc', credential: 'env:B_PASSWORD' },
      },
    ),
    env,
  );
  assert.equal(c.get('a')!.port, 443);
  assert.equal(c.get('a')!.basePath, '');
  assert.deepEqual(c.get('a')!.upstreamAuth, { type: 'none' });
  assert.equal(c.get('b')!.port, 80);
  assert.equal(c.get('b')!.host, '::1');
  assert.deepEqual(c.get('b')!.upstreamAuth, { type: 'basic', username: 'svc', credential: 'env:B_PASSWORD' });
});

test('malformed entries and inline secrets are refused with AG_ERR_CONFIG_INVALID', () => {
  const bad: Record<string, unknown>[] = [
    { ...registry, upstreamAuth: { type: 'bearer', token: 'abc' } },
    { ...registry, upstreamAuth: { type: 'bearer', credential: 'abc' } },
    { ...registry, upstreamAuth: { type: 'header', credential: 'env:X' } },
    { ...registry, upstreamAuth: { type: 'header', header: 'Host', credential: 'env:X' } },
    { ...registry, upstreamAuth: { type: 'basic', credential: 'env:X' } },
    { ...registry, upstreamAuth: { type: 'kerberos' } },
    { ...registry, baseUrl: 'ftp://host' },
    { ...registry, baseUrl: 'http://user:pw@host' },
    { ...registry, baseUrl: 'http://host/?a=1' },
    { ...registry, allowedGroups: [] },
    { ...registry, name: 'has/slash' },
    { ...registry, name: 'a%20b' },
    { ...registry, tls: { caFile: '/ca.crt' } },
  ];
  for (const entry of bad)
    assert.equal(
      code(() => parseHttpCatalog(doc(entry), env)),
      'AG_ERR_CONFIG_INVALID',
      JSON.stringify(entry),
    );
  assert.equal(
    code(() => parseHttpCatalog(doc(registry, registry), env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    code(() => parseHttpCatalog(doc(registry), {})),
    'AG_ERR_CONFIG_INVALID',
  );
});
