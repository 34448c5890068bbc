import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDeadline } from './index.js';

test('withDeadline passes a value through in time', async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 50, 'AG_ERR_VERDICT_TIMEOUT', 'x'), 7);
});

test('withDeadline rejects with the given code when late', async () => {
  const never = new Promise<number>(() => {});
  await assert.rejects(
    withDeadline(never, 10, 'AG_ERR_AUDIT_UNAVAILABLE', 'produce'),
    (e: { code?: string }) => e.code === 'AG_ERR_AUDIT_UNAVAILABLE',
  );
});
