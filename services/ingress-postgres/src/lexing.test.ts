import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LEXING, lexingDependsOnSettings, unfollowableLexing, withParameterStatus } from './lexing.js';

test('only backslashes and non-ASCII characters make lexing depend on the server settings', () => {
  assert.equal(lexingDependsOnSettings('select \'a\' || "b" -- plain'), false);
  assert.equal(lexingDependsOnSettings("select 'a\\'' ; drop table t; -- '"), true);
  assert.equal(lexingDependsOnSettings("select 'ü'"), true);
  assert.equal(lexingDependsOnSettings('truncate "t\u00a0"'), true);
});

test('the settings follow ParameterStatus, and only standard strings in UTF8 or SQL_ASCII are followed', () => {
  assert.equal(unfollowableLexing(DEFAULT_LEXING), undefined);
  const off = withParameterStatus(DEFAULT_LEXING, 'standard_conforming_strings', 'off');
  assert.equal(unfollowableLexing(off)?.code, 'AG_ERR_LEXING_UNSUPPORTED');
  assert.equal(unfollowableLexing(withParameterStatus(off, 'standard_conforming_strings', 'on')), undefined);
  assert.equal(unfollowableLexing(withParameterStatus(DEFAULT_LEXING, 'client_encoding', 'SJIS'))?.code, 'AG_ERR_LEXING_UNSUPPORTED');
  assert.equal(unfollowableLexing(withParameterStatus(DEFAULT_LEXING, 'client_encoding', 'SQL_ASCII')), undefined);
  assert.equal(withParameterStatus(DEFAULT_LEXING, 'TimeZone', 'UTC'), DEFAULT_LEXING);
});
