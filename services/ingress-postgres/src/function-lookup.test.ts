// given the target's answer to the catalog query, when it is folded frame by frame, then the
// function, "no such function" or a lookup failure comes out at ReadyForQuery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { commandComplete, dataRow, errorResponse, readyForQuery, type BackendFrame } from '@agentgate/pg-wire';
import { LookupReply, lookupMessages } from './function-lookup.js';

function frames(...raws: Buffer[]): BackendFrame[] {
  return raws.map((raw) => ({ type: String.fromCharCode(raw[0]!), raw }));
}

const PARSE_COMPLETE = Buffer.from('3100000004', 'hex');
const BIND_COMPLETE = Buffer.from('3200000004', 'hex');

function fold(list: BackendFrame[]): ReturnType<LookupReply['push']> {
  const reply = new LookupReply();
  let last: ReturnType<LookupReply['push']> = { done: false };
  for (const f of list) last = reply.push(f);
  return last;
}

test('one row names the function', () => {
  const answer = fold(
    frames(PARSE_COMPLETE, BIND_COMPLETE, dataRow(['pg_catalog', 'lo_open']), commandComplete('SELECT 1'), readyForQuery('I')),
  );
  assert.deepEqual(answer, { done: true, answer: { schema: 'pg_catalog', name: 'lo_open' } });
});

test('no row: no such function', () => {
  assert.deepEqual(fold(frames(PARSE_COMPLETE, BIND_COMPLETE, commandComplete('SELECT 0'), readyForQuery('I'))), {
    done: true,
    answer: null,
  });
});

test('nothing is answered before ReadyForQuery', () => {
  assert.deepEqual(fold(frames(PARSE_COMPLETE, BIND_COMPLETE, dataRow(['pg_catalog', 'lo_open']))), { done: false });
});

test('an error from the target fails the lookup', () => {
  assert.throws(
    () => fold(frames(errorResponse({ severity: 'ERROR', code: '57014', message: 'canceling statement' }), readyForQuery('I'))),
    (e) => e instanceof GatewayError && e.code === 'AG_ERR_FUNCTION_LOOKUP_FAILED',
  );
});

test('two rows or a row of the wrong shape fail the lookup', () => {
  const two = frames(dataRow(['a', 'f']), dataRow(['b', 'f']), readyForQuery('I'));
  assert.throws(
    () => fold(two),
    (e) => e instanceof GatewayError && e.code === 'AG_ERR_FUNCTION_LOOKUP_FAILED',
  );
  const shape = frames(dataRow(['a', null]), readyForQuery('I'));
  assert.throws(
    () => fold(shape),
    (e) => e instanceof GatewayError && e.code === 'AG_ERR_FUNCTION_LOOKUP_FAILED',
  );
});

test('the OID goes as a bound parameter, never into the query text', () => {
  const bytes = lookupMessages(952);
  assert.ok(bytes.includes(Buffer.from('WHERE p.oid = $1\0')));
  assert.ok(bytes.includes(Buffer.from('952')));
  assert.equal(bytes.at(-5), 0x53); // ends with Sync
});
