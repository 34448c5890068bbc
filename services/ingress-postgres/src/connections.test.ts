import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConnectionCatalog, resolveCredential } from './connections.js';
import { sqlStateFor } from './sqlstate.js';

// '${DIR}' is the catalog's own placeholder syntax, not a template literal.
const entry = {
  name: 'demo',
  protocol: 'postgres',
  host: '127.0.0.1',
  port: 25432,
  database: 'demo',
  username: 'gw',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a catalog placeholder under test
  credential: 'file:${DIR}/pw',
  allowedGroups: ['agents'],
};

test('a catalog entry expands variables in credential references', () => {
  const catalog = parseConnectionCatalog(JSON.stringify({ connections: [entry] }), { DIR: '/secrets' });
  assert.equal(catalog.get('demo')?.credential, 'file:/secrets/pw');
  assert.deepEqual(catalog.names(), ['demo']);
});

test('inline passwords, bad ports and duplicates are refused with AG_ERR_CONFIG_INVALID', () => {
  const invalid = (connections: unknown[]): void =>
    assert.throws(
      () => parseConnectionCatalog(JSON.stringify({ connections }), { DIR: '/s' }),
      (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
    );
  invalid([{ ...entry, password: 'x' }]);
  invalid([{ ...entry, port: 70000 }]);
  invalid([{ ...entry, credential: 'plaintext' }]);
  invalid([entry, entry]);
  assert.throws(
    () => parseConnectionCatalog('{', {}),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
});

test('TLS options: prefer by default, verify-full needs a CA', () => {
  const parsed = (tls: unknown) =>
    parseConnectionCatalog(JSON.stringify({ connections: [{ ...entry, tls }] }), { DIR: '/s' }).get('demo')?.tls;
  assert.deepEqual(parsed(undefined), { mode: 'prefer' });
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a catalog placeholder under test
  assert.deepEqual(parsed({ mode: 'verify-full', caFile: '${DIR}/ca.crt', serverName: 'db' }), {
    mode: 'verify-full',
    caFile: '/s/ca.crt',
    serverName: 'db',
  });
  assert.throws(
    () => parsed({ mode: 'verify-full' }),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
  assert.throws(
    () => parsed({ mode: 'sometimes' }),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
});

test('credentials resolve from env and files at use time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ag-cred-'));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  assert.equal(resolveCredential(`file:${join(dir, 'pw')}`, {}), 's3cret');
  assert.equal(resolveCredential('env:PW', { PW: 'x' }), 'x');
  assert.throws(
    () => resolveCredential('env:MISSING', {}),
    (e: { code?: string }) => e.code === 'AG_ERR_CREDENTIAL_UNAVAILABLE',
  );
  assert.throws(
    () => resolveCredential(`file:${join(dir, 'nope')}`, {}),
    (e: { code?: string }) => e.code === 'AG_ERR_CREDENTIAL_UNAVAILABLE',
  );
});

test('denials map to 42501 and audit outages to 08006', () => {
  assert.equal(sqlStateFor('AG_ERR_POLICY_DENIED'), '42501');
  assert.equal(sqlStateFor('AG_ERR_AUDIT_UNAVAILABLE'), '08006');
  assert.equal(sqlStateFor('AG_ERR_VERDICT_TIMEOUT'), '08006');
});
