import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientWantsNotices, decideStartupParameters, optionSettings, splitOptions } from './startup-parameters.js';

function params(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

test('given node-postgres startup parameters, then all but user and database are forwarded in order', () => {
  const decided = decideStartupParameters(
    params({
      user: 'demo-agent',
      database: 'demo',
      application_name: 'my app',
      client_encoding: 'UTF8',
      statement_timeout: '3000',
      idle_in_transaction_session_timeout: '5000',
      options: '-c search_path=s1,public',
    }),
  );
  assert.ok(decided.ok);
  assert.deepEqual(
    decided.forward.map((p) => p.name),
    ['application_name', 'client_encoding', 'statement_timeout', 'idle_in_transaction_session_timeout', 'options'],
  );
  assert.equal(decided.forward[0]?.value, 'my app', 'application_name reaches the target unchanged');
  assert.equal(decided.settings['search_path'], 's1,public');
  assert.equal(decided.settings['statement_timeout'], '3000');
});

test('options are split as the server splits them: whitespace, backslash escapes, three switch forms', () => {
  assert.deepEqual(splitOptions('  -c a=1\t--b-c=x\\ y   -cd=\\\\ '), ['-c', 'a=1', '--b-c=x y', '-cd=\\']);
  assert.deepEqual(optionSettings('-c a=1 --b-c=x\\ y -cd=2'), {
    settings: [
      ['a', '1'],
      ['b_c', 'x y'],
      ['d', '2'],
    ],
  });
  assert.deepEqual(optionSettings('-c TimeZone=UTC -c DateStyle=ISO,\\ DMY'), {
    settings: [
      ['TimeZone', 'UTC'],
      ['DateStyle', 'ISO, DMY'],
    ],
  });
});

test('server start-up switches and malformed settings in options are refused', () => {
  for (const options of ['-B 100', '-F', '-c', '-c =1', '--', 'search_path=x']) {
    const decided = decideStartupParameters(params({ options }));
    assert.equal(decided.ok, false, options);
    if (!decided.ok) assert.equal(decided.error.code, 'AG_ERR_STARTUP_PARAMETER_REFUSED');
  }
});

test('settings that would change the target role or how SQL is lexed are refused, at top level and in options', () => {
  const refused: Record<string, string>[] = [
    { role: 'postgres' },
    { session_authorization: 'x' },
    { options: '-c role=postgres' },
    { options: '--session-authorization=x' },
    { client_encoding: 'LATIN1' },
    { client_encoding: 'SJIS' },
    { options: '-c client_encoding=GBK' },
    { standard_conforming_strings: 'off' },
    { options: '-c standard_conforming_strings=0' },
    { replication: 'database' },
    { replication: 'true' },
  ];
  for (const entries of refused) {
    const decided = decideStartupParameters(params(entries));
    assert.equal(decided.ok, false, JSON.stringify(entries));
    if (!decided.ok) assert.equal(decided.error.code, 'AG_ERR_STARTUP_PARAMETER_REFUSED');
  }
});

test('encodings the gateway lexes like the server, and replication=false, pass', () => {
  for (const entries of <Record<string, string>[]>[
    { client_encoding: 'utf-8' },
    { client_encoding: 'UNICODE' },
    { client_encoding: 'SQL_ASCII' },
    { replication: 'false' },
    { standard_conforming_strings: 'on' },
  ]) {
    assert.equal(decideStartupParameters(params(entries)).ok, true, JSON.stringify(entries));
  }
  const decided = decideStartupParameters(params({ replication: 'off' }));
  assert.ok(decided.ok);
  assert.deepEqual(decided.forward, [], 'replication=off is not passed on');
});

test('protocol extension options are answered by the gateway, never forwarded', () => {
  const decided = decideStartupParameters(params({ '_pq_.compression': 'on', application_name: 'a' }));
  assert.ok(decided.ok);
  assert.deepEqual(decided.unsupportedProtocolOptions, ['_pq_.compression']);
  assert.deepEqual(
    decided.forward.map((p) => p.name),
    ['application_name'],
  );
});

test('the session notice follows client_min_messages as the server would', () => {
  assert.equal(clientWantsNotices({}), true);
  assert.equal(clientWantsNotices({ client_min_messages: 'NOTICE' }), true);
  assert.equal(clientWantsNotices({ client_min_messages: 'log' }), true);
  assert.equal(clientWantsNotices({ client_min_messages: 'warning' }), false);
  assert.equal(clientWantsNotices({ client_min_messages: 'error' }), false);
});
