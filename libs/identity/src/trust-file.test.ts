import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTokenVerifier, parseTrustFile } from './index.js';

const isConfigInvalid = (e: { code?: string }): boolean => e.code === 'AG_ERR_CONFIG_INVALID';

test('given the repository trust file, when parsed, then a verifier accepts its options', () => {
  const text = readFileSync(new URL('../../../deploy/identity.json', import.meta.url), 'utf8');
  const options = parseTrustFile(text, 'deploy/identity.json');
  assert.equal(options.issuers[0]?.issuer, 'http://127.0.0.1:14000');
  assert.equal(options.maxTokenBytes, 16384);
  assert.equal(typeof createTokenVerifier(options).verify, 'function');
});

test('given malformed trust files, when parsed, then CONFIG_INVALID naming the file', () => {
  for (const text of ['not json', '[]', 'null', '{}', '{"issuers": []}', '{"issuers": [{}], "maxTokenBytes": "big"}']) {
    assert.throws(
      () => parseTrustFile(text, 'x.json'),
      (e: { code?: string; message: string }) => isConfigInvalid(e) && e.message.includes('x.json'),
      text,
    );
  }
});

test('given no maxTokenBytes, when parsed, then the verifier default applies (the key is absent)', () => {
  const options = parseTrustFile('{"issuers": [{"issuer": "https://idp.example", "audience": "a", "algorithms": ["ES256"]}]}', 'x.json');
  assert.ok(!('maxTokenBytes' in options));
});
