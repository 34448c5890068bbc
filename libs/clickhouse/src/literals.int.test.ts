// The escaping function against the real ClickHouse: every hostile string comes back intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createClickHouse, quoteIdentifier, quoteString } from './index.js';

const passwordFile = process.env['AG_CLICKHOUSE_PASSWORD_FILE'];
const ch = createClickHouse({
  url: process.env['AG_CLICKHOUSE_URL'] ?? 'http://127.0.0.1:18123',
  database: 'default',
  username: process.env['AG_CLICKHOUSE_USER'] ?? 'default',
  password: passwordFile ? readFileSync(passwordFile, 'utf8').trim() : '',
});

const HOSTILE = [
  "it's",
  'back\\slash',
  "\\'",
  "'; DROP TABLE agentgate.events; --",
  'line\nbreak\ttab\rcr',
  'nul\0byte',
  'ünïcödé ✓ 🚀',
  '%_like_wildcards%',
  '`backticks`',
  '"double"',
  '\b\f',
  "''''",
  '\\\\\\',
];

test('quoteString round-trips hostile strings through the real server', async () => {
  for (const value of HOSTILE) {
    const r = await ch.query({ query: `SELECT ${quoteString(value)} AS v`, format: 'JSONEachRow' });
    const [row] = await r.json<{ v: string }>();
    assert.equal(row?.v, value, `round trip of ${JSON.stringify(value)}`);
  }
});

test('quoteIdentifier names odd identifiers', async () => {
  const r = await ch.query({ query: `SELECT 1 AS ${quoteIdentifier('we`ird name')}`, format: 'JSONEachRow' });
  assert.deepEqual(await r.json(), [{ 'we`ird name': 1 }]);
  await ch.close();
});
