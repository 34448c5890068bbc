// given the confirmed state and a batch, when planned, then each message is covered by the
// decision that must allow it, and nothing whose SQL the gateway cannot know is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrontendMessage } from './frontend-messages.js';
import { ConfirmedProtocolState, planExtendedBatch } from './extended-batch.js';

const raw = Buffer.alloc(0);
const parse = (name: string, sql: string): FrontendMessage => ({ type: 'Parse', name, sql, paramTypeOids: [], raw });
const bind = (portal: string, statement: string, params: string[] = []): FrontendMessage => ({
  type: 'Bind',
  portal,
  statement,
  paramFormats: [],
  params: params.map((p) => Buffer.from(p)),
  resultFormats: [],
  raw,
});
const execute = (portal: string): FrontendMessage => ({ type: 'Execute', portal, maxRows: 0, raw });
const sync: FrontendMessage = { type: 'Sync', raw };
const flush: FrontendMessage = { type: 'Flush', raw };
const describe = (target: 'S' | 'P', name: string): FrontendMessage => ({ type: 'Describe', target, name, raw });
const close = (target: 'S' | 'P', name: string): FrontendMessage => ({ type: 'Close', target, name, raw });

test('given Parse/Bind/Describe/Execute/Sync, then one decision on the text and parameters covers Parse, Bind and Execute', () => {
  const plan = planExtendedBatch(new ConfirmedProtocolState(), [
    parse('', 'select $1'),
    bind('', '', ['x']),
    describe('P', ''),
    execute(''),
    sync,
  ]);
  assert.equal(plan.refusal, null);
  assert.deepEqual(
    plan.decisions.map((d) => [d.sql, d.covers, d.bind?.params[0]?.toString()]),
    [['select $1', 'bind', 'x']],
  );
  assert.deepEqual(
    plan.messages.map((m) => m.decision),
    [0, 0, null, 0, null],
  );
});

test('given a Bind with no Execute (code runs at Bind), then the Bind is still decided before it is sent', () => {
  const plan = planExtendedBatch(new ConfirmedProtocolState(), [
    parse('', 'select $1::checked_domain'),
    bind('', '', ['DROP TABLE t']),
    sync,
  ]);
  assert.deepEqual(
    plan.decisions.map((d) => [d.sql, d.bind?.params[0]?.toString()]),
    [['select $1::checked_domain', 'DROP TABLE t']],
  );
  assert.deepEqual(
    plan.messages.map((m) => m.decision),
    [0, 0, null],
  );
});

test('given a Parse followed by Flush and no Bind, then the Parse is decided on its own', () => {
  const plan = planExtendedBatch(new ConfirmedProtocolState(), [parse('s1', 'lock table t'), flush]);
  assert.deepEqual(
    plan.decisions.map((d) => [d.sql, d.covers, d.statementName]),
    [['lock table t', 'parse', 's1']],
  );
  assert.deepEqual(
    plan.messages.map((m) => m.decision),
    [0, null],
  );
});

test('given s1 confirmed as DROP and a refused re-Parse of s1, then a later Bind of s1 is decided on the DROP the server still holds', () => {
  const state = new ConfirmedProtocolState();
  state.parsed('s1', 'DROP TABLE t');
  // The server refused Parse("s1", "SELECT 1") with 42P05: no ParseComplete, so nothing changes.
  const plan = planExtendedBatch(state, [bind('', 's1'), execute(''), sync]);
  assert.deepEqual(
    plan.decisions.map((d) => d.sql),
    ['DROP TABLE t'],
  );
});

test('given a Bind of a statement the server never confirmed, then it is refused and nothing from it on is sent', () => {
  const plan = planExtendedBatch(new ConfirmedProtocolState(), [describe('S', 'x'), bind('', 'never_parsed'), execute(''), sync]);
  assert.deepEqual(plan.refusal, { at: 1, reason: 'unknown-statement', name: 'never_parsed' });
  assert.equal(plan.messages.length, 1);
});

test('given an Execute of a portal that does not exist, then it is refused', () => {
  assert.deepEqual(planExtendedBatch(new ConfirmedProtocolState(), [execute('p9'), sync]).refusal, {
    at: 0,
    reason: 'unknown-portal',
    name: 'p9',
  });
});

test('given a portal bound in an earlier batch (suspended, fetch size), then its Execute needs no new decision', () => {
  const state = new ConfirmedProtocolState();
  state.bound('c1', { sql: 'select * from big', statement: 's', requestId: 'r1' });
  const plan = planExtendedBatch(state, [execute('c1'), sync]);
  assert.deepEqual(plan.decisions, []);
  assert.deepEqual(
    plan.messages.map((m) => m.decision),
    [null, null],
  );
});

test('given the same statement name parsed twice in one batch, then each Parse is covered by a decision on its own text, in message order', () => {
  const plan = planExtendedBatch(new ConfirmedProtocolState(), [
    parse('', 'select 1'),
    parse('', 'delete from t'),
    bind('', ''),
    execute(''),
    sync,
  ]);
  assert.deepEqual(
    plan.decisions.map((d) => [d.sql, d.covers]),
    [
      ['select 1', 'parse'],
      ['delete from t', 'bind'],
    ],
  );
  assert.deepEqual(
    plan.messages.map((m) => m.decision),
    [0, 1, 1, 1, null],
  );
});

test('given a statement closed earlier in the batch, then a Bind of it is refused', () => {
  const state = new ConfirmedProtocolState();
  state.parsed('s1', 'select 1');
  assert.equal(planExtendedBatch(state, [close('S', 's1'), bind('', 's1'), sync]).refusal?.reason, 'unknown-statement');
});

test('confirmed state: portals end with the transaction, a simple Query ends the unnamed statement and forgets what SQL PREPARE may have changed', () => {
  const state = new ConfirmedProtocolState();
  state.parsed('', 'select 1');
  state.parsed('s1', 'select 2');
  state.parsed('s2', 'select 3');
  state.bound('p', { sql: 'select 2', statement: 's1', requestId: 'r' });
  state.ready('T');
  assert.equal(state.portals.size, 1);
  state.ready('I');
  assert.equal(state.portals.size, 0);
  state.simpleQuery();
  state.forget(['s1']);
  assert.deepEqual([...state.statements.keys()], ['s2']);
  state.forget('all');
  assert.equal(state.statements.size, 0);
});

test('given a portal name the gateway reserves for itself, then Bind and Execute of it are refused', () => {
  const reserved = new Set(['gateway-own']);
  assert.equal(
    planExtendedBatch(new ConfirmedProtocolState(), [parse('', 'select 1'), bind('gateway-own', ''), sync], reserved).refusal?.at,
    1,
  );
  const state = new ConfirmedProtocolState();
  state.bound('gateway-own', { sql: 'select 1', statement: '', requestId: 'r' });
  assert.equal(planExtendedBatch(state, [execute('gateway-own'), sync], reserved).refusal?.reason, 'unknown-portal');
});
