// The catalog view: what the CLI shows of deploy/connections.json, and what it never shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mayUse, parseCatalog } from './catalog.js';
import { catalogDocument, catalogText } from './connections.js';

const REPO_CATALOG = readFileSync(new URL('../../../deploy/connections.json', import.meta.url), 'utf8');

test('given the repository catalog, when parsed, then names, targets and groups are read', () => {
  const entries = parseCatalog(REPO_CATALOG, 'deploy/connections.json');
  assert.deepEqual(
    entries.map((e) => [e.name, e.protocol, `${e.host}:${e.port}/${e.database}`, e.credentialKind]),
    [
      ['demo', 'postgres', '127.0.0.1:25432/demo', 'file'],
      ['scratch', 'postgres', '127.0.0.1:25432/scratch', 'file'],
      // An SSH connection names no database.
      ['web', 'ssh', '127.0.0.1:22222/', 'file'],
      // An HTTP connection: host and port from its baseUrl.
      ['registry', 'http', '127.0.0.1:18081/', 'file'],
      // MCP connections whose servers the gateway starts (stdio): no host, no credential.
      ['files', 'mcp', 'stdio:0/', 'none'],
      ['everything', 'mcp', 'stdio:0/', 'none'],
      ['mcp-lab', 'mcp', 'stdio:0/', 'none'],
    ],
  );
  assert.equal(mayUse(entries[1]!, ['agents']), false);
  assert.equal(mayUse(entries[1]!, ['agents', 'dba-agents']), true);
});

test('credential references never reach the output, in text or JSON', () => {
  const text = JSON.stringify({
    connections: [
      {
        name: 'prod',
        protocol: 'postgres',
        host: 'db',
        port: 5432,
        database: 'app',
        allowedGroups: ['agents'],
        credential: 'env:PROD_DB_SECRET_REF',
        username: 'svc',
      },
    ],
  });
  const entries = parseCatalog(text, 'x.json');
  const caller = {
    subject: 'a',
    issuer: 'i',
    groups: ['agents'],
    actChain: [],
    actor: null,
    tokenId: null,
    expiresAt: new Date(),
    issuedAt: null,
    audience: [],
    clientId: null,
  };
  for (const out of [catalogText(entries, null), catalogText(entries, caller), JSON.stringify(catalogDocument(entries, caller))]) {
    assert.doesNotMatch(out, /PROD_DB_SECRET_REF|svc/);
    assert.match(out, /env/);
  }
  assert.equal((catalogDocument(entries, caller)['connections'] as { may_use: boolean }[])[0]!.may_use, true);
  assert.ok(!('may_use' in (catalogDocument(entries, null)['connections'] as object[])[0]!));
});

test('malformed catalogs are AG_ERR_CONFIG_INVALID naming the file and entry', () => {
  const bad = (doc: string, pattern: RegExp): void => {
    assert.throws(
      () => parseCatalog(doc, 'c.json'),
      (e: { code?: string; message: string }) => e.code === 'AG_ERR_CONFIG_INVALID' && pattern.test(e.message),
      doc,
    );
  };
  bad('nope', /c\.json is not valid JSON/);
  bad('{}', /needs a "connections" array/);
  bad(
    '{"connections":[{"name":"x","protocol":"postgres","host":"h","port":0,"database":"d","allowedGroups":[],"credential":"env:X"}]}',
    /entry x: port/,
  );
  bad(
    '{"connections":[{"name":"x","protocol":"postgres","host":"h","port":1,"database":"d","allowedGroups":[],"credential":"hunter2"}]}',
    /entry x: credential must be a reference/,
  );
});
