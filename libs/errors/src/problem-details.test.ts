import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES } from './codes.js';
import { problemDocument } from './problem-details.js';

test('a problem document names its code in type and code, with the registry summary as title', () => {
  assert.deepEqual(problemDocument('AG_ERR_FORBIDDEN', 403), {
    type: 'https://agentgate.dev/errors/AG_ERR_FORBIDDEN',
    title: ERROR_CODES.AG_ERR_FORBIDDEN.summary,
    status: 403,
    detail: ERROR_CODES.AG_ERR_FORBIDDEN.summary,
    code: 'AG_ERR_FORBIDDEN',
  });
  assert.equal(problemDocument('AG_ERR_BAD_REQUEST', 400, 'limit is too large').detail, 'limit is too large');
});
