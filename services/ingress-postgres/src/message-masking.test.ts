import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMaskingPlan, MaskingTally } from '@agentgate/masking';
import { decodeErrorFields, errorResponse, noticeResponse } from '@agentgate/pg-wire';
import { maskMessageFields, maskNotification } from './message-masking.js';

const plan = compileMaskingPlan(
  {
    version: 1,
    rules: [],
    detectors: ['card', 'email'],
    detectorStrategies: { email: { kind: 'tokenize' } },
    defaultDetectorStrategy: { kind: 'redact' },
  },
  { current: { id: 'k', secret: new Uint8Array(32).fill(3) } },
);

function notification(pid: number, channel: string, payload: string): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from(`${channel}\0${payload}\0`, 'utf8')]);
  body.writeInt32BE(pid, 0);
  const head = Buffer.alloc(5);
  head[0] = 0x41;
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

test('a unique violation echoing a value gets it masked in its detail; codes and names stay', () => {
  const raw = errorResponse({
    severity: 'ERROR',
    code: '23505',
    message: 'duplicate key value violates unique constraint "customers_email_key"',
    detail: 'Key (email)=(jane.roe@example.com) already exists.',
  });
  const tally = new MaskingTally();
  const fields = decodeErrorFields(maskMessageFields(raw, plan, tally));
  assert.equal(fields.code, '23505');
  assert.equal(fields.message, 'duplicate key value violates unique constraint "customers_email_key"');
  assert.match(fields.detail ?? '', /^Key \(email\)=\(tok_[0-9a-f]+@d[0-9a-f]+\.invalid\) already exists\.$/);
  assert.deepEqual(tally.toJSON(), { 'detector:email': 1 });
});

test('messages with nothing to mask come back as the same buffer', () => {
  const raw = noticeResponse({ severity: 'NOTICE', code: '00000', message: 'table "t" does not exist, skipping' });
  assert.equal(maskMessageFields(raw, plan), raw);
});

test('a card in a notice message is redacted and the frame length is right', () => {
  const raw = noticeResponse({ severity: 'NOTICE', code: '00000', message: 'got 4111111111111111', hint: 'none' });
  const out = maskMessageFields(raw, plan);
  assert.equal(out.readInt32BE(1), out.length - 1);
  assert.equal(out[0], 0x4e);
  const f = decodeErrorFields(out);
  assert.equal(f.message, 'got [REDACTED:card]');
  assert.equal(f.hint, 'none');
});

test('a NOTIFY payload is masked; the channel and the process id stay', () => {
  const raw = notification(4242, 'orders', 'paid with 4111111111111111');
  const out = maskNotification(raw, plan);
  assert.equal(out.readInt32BE(1), out.length - 1);
  assert.equal(out.readInt32BE(5), 4242);
  assert.equal(out.toString('utf8', 9), 'orders\0paid with [REDACTED:card]\0');
  const plain = notification(1, 'c', 'nothing here');
  assert.equal(maskNotification(plain, plan), plain);
});
