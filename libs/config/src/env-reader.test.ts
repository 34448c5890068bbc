import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvReader } from './index.js';
import type { GatewayError } from '@agentgate/errors';

test('reads typed values with fallbacks and freezes the result', () => {
  const r = new EnvReader({ A: 'x', N: '42', L: 'a, b,,c', U: 'http://127.0.0.1:1' });
  const cfg = r.done({ a: r.string('A'), n: r.int('N', 1), m: r.int('M', 7), l: r.list('L'), u: r.url('U') });
  assert.deepEqual(cfg, { a: 'x', n: 42, m: 7, l: ['a', 'b', 'c'], u: 'http://127.0.0.1:1' });
  assert.ok(Object.isFrozen(cfg));
});

test('collects every problem into one AG_ERR_CONFIG_INVALID', () => {
  const r = new EnvReader({ N: 'x', P: '70000', U: 'not a url' });
  r.string('MISSING');
  r.int('N', 1);
  r.int('P', 1, { max: 65535 });
  r.url('U');
  assert.throws(
    () => r.done({}),
    (e: { code?: string; message: string }) =>
      e.code === 'AG_ERR_CONFIG_INVALID' && e.message.includes('MISSING') && e.message.includes('P must be within'),
  );
});

test('bool reads the usual words and refuses anything else', () => {
  const r = new EnvReader({ A: 'on', B: 'No', C: 'maybe' });
  assert.equal(r.bool('A', false), true);
  assert.equal(r.bool('B', true), false);
  assert.equal(r.bool('UNSET', true), true);
  r.bool('C', false);
  assert.throws(
    () => r.done({}),
    (err: GatewayError) => err.code === 'AG_ERR_CONFIG_INVALID' && /C must be true or false/.test(err.message),
  );
});
