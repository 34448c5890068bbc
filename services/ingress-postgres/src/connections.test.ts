import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCredential } from '@agentgate/ingress-core';
import { admitConnection, loginFor, parseConnectionCatalog } from './connections.js';
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

// The shape deploy/connections.json uses: one login per privilege level, narrowest first.
const { username: _u, credential: _c, ...base } = entry;
const withLogins = {
  ...base,
  allowedGroups: ['agents', 'readonly-agents', 'dba-agents'],
  logins: [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a catalog placeholder under test
    { groups: ['readonly-agents'], username: 'demo_ro', credential: 'file:${DIR}/ro' },
    { groups: ['agents', 'dba-agents'], username: 'demo_rw', credential: 'env:RW' },
  ],
};

const parse = (connections: unknown[]) => parseConnectionCatalog(JSON.stringify({ connections }), { DIR: '/s' });
const invalid = (connections: unknown[], problem: RegExp): void =>
  assert.throws(
    () => parse(connections),
    (e: { code?: string; message?: string }) => e.code === 'AG_ERR_CONFIG_INVALID' && problem.test(e.message ?? ''),
  );

test('top-level username and credential are one login for every allowed group, with variables expanded', () => {
  const catalog = parseConnectionCatalog(JSON.stringify({ connections: [entry] }), { DIR: '/secrets' });
  assert.deepEqual(catalog.get('demo')?.logins, [{ groups: ['agents'], username: 'gw', credential: 'file:/secrets/pw' }]);
  assert.deepEqual(catalog.names(), ['demo']);
});

test('defaults: verify-full TLS and SCRAM-SHA-256 only', () => {
  const demo = parse([entry]).get('demo');
  assert.deepEqual(demo?.tls, { mode: 'verify-full' });
  assert.deepEqual(demo?.auth, ['scram-sha-256']);
});

test('the login is the first one sharing a group with the agent', () => {
  const demo = parse([withLogins]).get('demo')!;
  assert.equal(loginFor(demo, ['readonly-agents'])?.username, 'demo_ro');
  assert.equal(loginFor(demo, ['agents'])?.credential, 'env:RW');
  assert.equal(loginFor(demo, ['dba-agents', 'x'])?.username, 'demo_rw');
  // In both a read-only and a read-write group: the first (narrowest) login wins.
  assert.equal(loginFor(demo, ['agents', 'readonly-agents'])?.username, 'demo_ro');
  assert.equal(loginFor(demo, ['approvers']), undefined);
  assert.equal(demo.logins[0]?.credential, 'file:/s/ro');
});

test('bad logins are refused: uncovered or stray groups, both forms at once, inline passwords, bad references', () => {
  invalid(
    [{ ...withLogins, allowedGroups: ['agents', 'readonly-agents', 'dba-agents', 'auditors'] }],
    /allowed groups auditors have no login/,
  );
  invalid([{ ...withLogins, allowedGroups: ['agents', 'dba-agents'] }], /groups readonly-agents are not in allowedGroups/);
  invalid([{ ...withLogins, username: 'gw', credential: 'env:X' }], /either "logins" or top-level/);
  invalid([{ ...withLogins, logins: [] }], /logins must be a non-empty array/);
  invalid([{ ...base }], /logins must be a non-empty array/);
  invalid([{ ...withLogins, logins: [{ groups: ['agents'], username: 'a', password: 'x', credential: 'env:X' }] }], /inline passwords/);
  invalid([{ ...withLogins, logins: [{ groups: [], username: 'a', credential: 'env:X' }] }], /logins\[0\]\.groups/);
  invalid([{ ...withLogins, logins: [{ groups: ['agents'], username: '', credential: 'env:X' }] }], /logins\[0\]\.username/);
  invalid([{ ...withLogins, logins: [{ groups: ['agents'], username: 'a', credential: 'hunter2' }] }], /logins\[0\]\.credential/);
});

test('inline passwords, bad ports and duplicates are refused with AG_ERR_CONFIG_INVALID', () => {
  invalid([{ ...entry, password: 'x' }], /inline passwords/);
  invalid([{ ...entry, port: 70000 }], /port/);
  invalid([{ ...entry, credential: 'plaintext' }], /credential must be/);
  invalid([entry, entry], /defined twice/);
  assert.throws(
    () => parseConnectionCatalog('{', {}),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
});

test('auth allow-lists: md5, password and trust are opt-ins; unknown, empty or repeated methods are refused', () => {
  assert.deepEqual(parse([{ ...entry, auth: ['scram-sha-256', 'md5'] }]).get('demo')?.auth, ['scram-sha-256', 'md5']);
  assert.deepEqual(parse([{ ...entry, auth: ['trust'] }]).get('demo')?.auth, ['trust']);
  invalid([{ ...entry, auth: ['kerberos'] }], /auth methods kerberos are unknown/);
  invalid([{ ...entry, auth: [] }], /auth must be a non-empty list/);
  invalid([{ ...entry, auth: ['md5', 'md5'] }], /distinct/);
  invalid([{ ...entry, auth: 'md5' }], /auth must be/);
});

test('TLS options: verify-full by default, verify-ca needs a CA, prefer is refused, weaker modes only when asked', () => {
  const parsed = (tls: unknown) => parse([{ ...entry, tls }]).get('demo')?.tls;
  assert.deepEqual(parsed(undefined), { mode: 'verify-full' });
  assert.deepEqual(parsed({}), { mode: 'verify-full' });
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a catalog placeholder under test
  assert.deepEqual(parsed({ mode: 'verify-full', caFile: '${DIR}/ca.crt', serverName: 'db' }), {
    mode: 'verify-full',
    caFile: '/s/ca.crt',
    serverName: 'db',
  });
  assert.deepEqual(parsed({ mode: 'verify-ca', caFile: '/ca.crt' }), { mode: 'verify-ca', caFile: '/ca.crt' });
  assert.deepEqual(parsed({ mode: 'require' }), { mode: 'require' });
  assert.deepEqual(parsed({ mode: 'disable' }), { mode: 'disable' });
  invalid([{ ...entry, tls: { mode: 'verify-ca' } }], /caFile is required for verify-ca/);
  invalid([{ ...entry, tls: { mode: 'prefer' } }], /prefer falls back to plaintext/);
  invalid([{ ...entry, tls: { mode: 'sometimes' } }], /tls.mode must be one of/);
});

test('credentials resolve from env and files at use time; the error names neither the path nor the variable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ag-cred-'));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  assert.equal(resolveCredential(`file:${join(dir, 'pw')}`, {}), 's3cret');
  assert.equal(resolveCredential('env:PW', { PW: 'x' }), 'x');
  const refusal = (reference: string): { code?: string; message: string; cause: Error } => {
    try {
      resolveCredential(reference, {});
    } catch (e) {
      return e as { code?: string; message: string; cause: Error };
    }
    throw new Error('resolved');
  };
  const missing = refusal('env:MISSING_SECRET_VAR');
  assert.equal(missing.code, 'AG_ERR_CREDENTIAL_UNAVAILABLE');
  assert.doesNotMatch(missing.message, /MISSING_SECRET_VAR|env:/);
  // The operator's log reads the cause.
  assert.match(missing.cause.message, /MISSING_SECRET_VAR/);
  const absent = refusal(`file:${join(dir, 'nope')}`);
  assert.equal(absent.code, 'AG_ERR_CREDENTIAL_UNAVAILABLE');
  assert.doesNotMatch(absent.message, /ag-cred-|nope|file:|\//);
  assert.match(absent.cause.message, /nope/);
});

test('admission errors name only the connections the agent may use', () => {
  const scratch = { ...entry, name: 'scratch', database: 'scratch', allowedGroups: ['dba-agents'] };
  const secret = { ...entry, name: 'payroll-prod', database: 'payroll', allowedGroups: ['payroll-admins'] };
  const catalog = parse([withLogins, scratch, secret]);
  const refusal = (name: string, groups: string[]): { code?: string; message: string } => {
    try {
      admitConnection(catalog, name, groups);
    } catch (e) {
      return e as { code?: string; message: string };
    }
    throw new Error('admitted');
  };

  const unknown = refusal('nope', ['readonly-agents']);
  assert.equal(unknown.code, 'AG_ERR_CONNECTION_UNKNOWN');
  assert.match(unknown.message, /no connection named "nope"; connections you may use: demo$/);
  assert.doesNotMatch(unknown.message, /scratch|payroll/);

  const forbidden = refusal('scratch', ['readonly-agents']);
  assert.equal(forbidden.code, 'AG_ERR_CONNECTION_FORBIDDEN');
  assert.match(forbidden.message, /connections you may use: demo$/);
  assert.doesNotMatch(forbidden.message, /payroll/);

  const nothing = refusal('payroll-prod', ['approvers']);
  assert.equal(nothing.code, 'AG_ERR_CONNECTION_FORBIDDEN');
  assert.match(nothing.message, /you may use no connection/);
  assert.doesNotMatch(nothing.message, /demo|scratch/);

  const admitted = admitConnection(catalog, 'demo', ['readonly-agents']);
  assert.equal(admitted.connection.name, 'demo');
  assert.equal(admitted.login.username, 'demo_ro');
  assert.equal(admitConnection(catalog, 'scratch', ['dba-agents']).login.username, 'gw');
});

test('denials map to 42501 and audit outages to 08006', () => {
  assert.equal(sqlStateFor('AG_ERR_POLICY_DENIED'), '42501');
  assert.equal(sqlStateFor('AG_ERR_AUDIT_UNAVAILABLE'), '08006');
  assert.equal(sqlStateFor('AG_ERR_VERDICT_TIMEOUT'), '08006');
});
