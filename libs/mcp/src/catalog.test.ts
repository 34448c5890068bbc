import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import { mayUseMcp, parseMcpCatalog } from './catalog.js';

const stdio = {
  name: 'files',
  protocol: 'mcp',
  transport: 'stdio',
  command: 'node',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax, not a template
  args: ['${REPO}/server.js', '${DATA}/files'],
  env: { LOG_LEVEL: 'info' },
  secretEnv: { API_TOKEN: 'env:FILES_TOKEN' },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax, not a template
  cwd: '${DATA}',
  allowedGroups: ['agents'],
};
const http = {
  name: 'remote',
  protocol: 'mcp',
  transport: 'http',
  url: 'https://mcp.example/mcp',
  bearer: 'file:/run/token',
  allowedGroups: ['agents'],
};
const env = { REPO: '/repo', DATA: '/data' };

/** The AG_ERR_* code `parse` throws with. */
function codeOf(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err.code;
  }
  assert.fail('accepted');
}

test('a stdio entry: command, args, env, secret references and cwd, with placeholders expanded from the environment given', () => {
  const c = parseMcpCatalog([stdio], env).get('files');
  assert.deepEqual(c, {
    name: 'files',
    allowedGroups: ['agents'],
    upstream: {
      transport: 'stdio',
      command: 'node',
      args: ['/repo/server.js', '/data/files'],
      env: { LOG_LEVEL: 'info' },
      secretEnv: { API_TOKEN: 'env:FILES_TOKEN' },
      cwd: '/data',
    },
  });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c?.upstream));
});

test('an http entry: its URL and bearer reference; no bearer is null', () => {
  const catalog = parseMcpCatalog([http, { ...http, name: 'open', bearer: undefined }], {});
  assert.deepEqual(catalog.get('remote')?.upstream, { transport: 'http', url: 'https://mcp.example/mcp', bearer: 'file:/run/token' });
  const open = catalog.get('open')?.upstream;
  assert.ok(open?.transport === 'http');
  assert.equal(open.bearer, null);
  assert.deepEqual(catalog.names(), ['remote', 'open']);
});

test('entries of other protocols are not the MCP catalog', () => {
  const catalog = parseMcpCatalog([{ name: 'db', protocol: 'postgres', host: 'x' }, stdio], env);
  assert.deepEqual(catalog.names(), ['files']);
  assert.equal(catalog.get('db'), undefined);
});

test('an unset placeholder variable is a configuration error, not an empty string', () => {
  assert.equal(
    codeOf(() => parseMcpCatalog([stdio], { REPO: '/repo' })),
    'AG_ERR_CONFIG_INVALID',
  );
});

test('inline secrets are refused; secretEnv and bearer must be references', () => {
  for (const inline of ['password', 'token', 'secret'])
    assert.equal(
      codeOf(() => parseMcpCatalog([{ ...stdio, [inline]: 'hunter2' }], env)),
      'AG_ERR_CONFIG_INVALID',
      inline,
    );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...stdio, secretEnv: { API_TOKEN: 'hunter2' } }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...http, bearer: 'hunter2' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...http, url: 'https://user:hunter2@mcp.example/mcp' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
});

test('a transport other than stdio or http is refused, as is an http URL of another scheme', () => {
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...stdio, transport: 'sse' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...stdio, transport: undefined }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...http, url: 'file:///etc/passwd' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...http, url: 'not a url' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
});

test('malformed stdio fields are refused', () => {
  for (const bad of [{ command: '' }, { args: 'server.js' }, { args: [1] }, { env: { 'BAD-NAME': 'x' } }, { env: ['x'] }, { cwd: '' }])
    assert.equal(
      codeOf(() => parseMcpCatalog([{ ...stdio, ...bad }], env)),
      'AG_ERR_CONFIG_INVALID',
      JSON.stringify(bad),
    );
});

test('a name that is not a URL path segment, or no allowed groups, is refused', () => {
  for (const name of ['', '../x', 'a/b', 'x'.repeat(64), '-lead'])
    assert.equal(
      codeOf(() => parseMcpCatalog([{ ...stdio, name }], env)),
      'AG_ERR_CONFIG_INVALID',
      name,
    );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...stdio, allowedGroups: [] }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
  assert.equal(
    codeOf(() => parseMcpCatalog([{ ...stdio, allowedGroups: 'agents' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
});

test('a name defined twice is refused', () => {
  assert.equal(
    codeOf(() => parseMcpCatalog([stdio, { ...http, name: 'files' }], env)),
    'AG_ERR_CONFIG_INVALID',
  );
});

test('mayUseMcp: any one shared group suffices; none shared, or no groups, refuses', () => {
  const c = parseMcpCatalog([{ ...stdio, allowedGroups: ['agents', 'dba-agents'] }], env).get('files')!;
  assert.equal(mayUseMcp(c, ['dba-agents']), true);
  assert.equal(mayUseMcp(c, ['humans']), false);
  assert.equal(mayUseMcp(c, []), false);
});
