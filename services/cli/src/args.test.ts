import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from './args.js';

test('commands and flags', () => {
  assert.deepEqual(parseArgs(['verify-chain', '--session', 'abc', '--limit=5', '--json']), { command: 'verify-chain', flags: { session: 'abc', limit: '5', json: 'true' } });
  assert.deepEqual(parseArgs([]), { command: 'help', flags: {} });
  assert.throws(() => parseArgs(['x', 'stray']), (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID');
});
