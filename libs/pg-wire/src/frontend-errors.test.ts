import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError, type ErrorCode } from '@agentgate/errors';
import { FrontendParser } from './frontend-parser.js';
import { feedFrontend, splits } from './testing/feed.js';
import * as golden from './testing/golden-frontend.js';

const { hex } = golden;

/** A typed frame after the psql StartupMessage, so the parser is in the typed phase. */
function typed(frameHex: string): Buffer {
  return Buffer.concat([golden.PSQL_STARTUP, hex(frameHex)]);
}

interface BadCase {
  name: string;
  stream: Buffer;
  code: ErrorCode;
  options?: { maxMessageBytes?: number };
}

const bad: BadCase[] = [
  {
    name: 'typed length over maxMessageBytes',
    stream: typed('51 00010000'),
    code: 'AG_ERR_MESSAGE_TOO_LARGE',
    options: { maxMessageBytes: 1024 },
  },
  { name: 'typed length 2^31-1 with the default limit', stream: typed('51 7fffffff'), code: 'AG_ERR_MESSAGE_TOO_LARGE' },
  { name: 'startup packet over 10000 bytes', stream: hex('00002711 00030000'), code: 'AG_ERR_MESSAGE_TOO_LARGE' },
  { name: 'typed length 3 (< 4)', stream: typed('51 00000003'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'typed length negative', stream: typed('51 ffffffff'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'startup length 4 (< 8)', stream: hex('00000004'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'startup length negative', stream: hex('80000000'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'unknown type byte Z', stream: typed('5a'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'unknown type byte 0x00', stream: typed('00 00000004'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Query with truncated cstring', stream: typed('51 00000007 616263'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Query with trailing garbage', stream: typed('51 00000008 616200 ff'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Query with invalid UTF-8', stream: typed('51 00000007 c32800'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Sync with a body', stream: typed('53 00000005 00'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Parse with 65535 type OIDs and none present', stream: typed('50 00000008 00 00 ffff'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Parse missing the count', stream: typed('50 00000006 00 00'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  {
    name: 'Bind with a parameter count exceeding the body',
    stream: typed('42 0000000c 00 00 0000 0005 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  { name: 'Bind with parameter length -2', stream: typed('42 00000010 00 00 0000 0001 fffffffe 0000'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  {
    name: 'Bind with a parameter length past the body',
    stream: typed('42 00000011 00 00 0000 0001 00000010 41 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  {
    name: 'Bind with 2 formats for 3 parameters',
    stream: typed('42 0000001c 00 00 0002 0000 0000 0003 ffffffff ffffffff ffffffff 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  { name: 'Bind with a format count exceeding the body', stream: typed('42 00000008 00 00 7fff'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'FunctionCall missing the OID', stream: typed('46 00000006 0000'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  {
    name: 'FunctionCall with a format count exceeding the body',
    stream: typed('46 0000000c 00000499 7fff 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  {
    name: 'FunctionCall with an argument count exceeding the body',
    stream: typed('46 0000000e 00000499 0000 0005 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  {
    name: 'FunctionCall with 2 formats for 3 arguments',
    stream: typed('46 0000001e 00000499 0002 0000 0000 0003 ffffffff ffffffff ffffffff 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  {
    name: 'FunctionCall with an argument length past the body',
    stream: typed('46 00000013 00000499 0000 0001 00000010 41 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  {
    name: 'FunctionCall with argument length -2',
    stream: typed('46 00000012 00000499 0000 0001 fffffffe 0000'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  { name: 'FunctionCall missing the result format', stream: typed('46 0000000c 00000499 0000 0000'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  {
    name: 'FunctionCall with trailing bytes',
    stream: typed('46 0000000f 00000499 0000 0000 0000 ff'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  { name: 'Describe with target X', stream: typed('44 00000006 58 00'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Close without target', stream: typed('43 00000004'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'Execute missing max rows', stream: typed('45 00000007 00 0000'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'unknown startup request code 1234/9999', stream: hex('00000008 04d2270f'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'protocol 2.0 StartupMessage', stream: hex('00000009 00020000 00'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'protocol 4.0 StartupMessage', stream: hex('00000009 00040000 00'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'SSLRequest with a body', stream: hex('0000000c 04d2162f 00000000'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'CancelRequest without secret key', stream: hex('0000000c 04d2162e 00001a93'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  { name: 'StartupMessage without final terminator', stream: hex('0000000c 00030000 7500 7800'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
  {
    name: 'StartupMessage with bytes after the terminator',
    stream: hex('0000000e 00030000 7500 7800 00 41'),
    code: 'AG_ERR_PROTOCOL_VIOLATION',
  },
  { name: 'StartupMessage with a name but no value', stream: hex('0000000b 00030000 7500 00'), code: 'AG_ERR_PROTOCOL_VIOLATION' },
];

describe('FrontendParser malformed input', () => {
  for (const c of bad) {
    it(`given ${c.name}, then it returns ${c.code} at every split without throwing`, () => {
      for (const { label, chunks } of splits(c.stream)) {
        let result: ReturnType<typeof feedFrontend> | undefined;
        assert.doesNotThrow(() => {
          result = feedFrontend(chunks, c.options);
        }, label);
        assert.ok(result?.error instanceof GatewayError, label);
        assert.equal(result.error.code, c.code, label);
        assert.equal(result.parser.phase, 'failed', label);
      }
    });
  }

  it('given an oversize length, then the error comes from the header alone, before any body', () => {
    const parser = new FrontendParser({ maxMessageBytes: 1024 });
    parser.parse(golden.PSQL_STARTUP, () => {});
    assert.equal(parser.parse(hex('51 00100000'), () => {})?.code, 'AG_ERR_MESSAGE_TOO_LARGE');
  });

  it('given an unknown type byte, then the error comes from that byte alone', () => {
    const parser = new FrontendParser();
    parser.parse(golden.PSQL_STARTUP, () => {});
    assert.equal(parser.parse(hex('7a'), () => {})?.code, 'AG_ERR_PROTOCOL_VIOLATION');
  });

  it('given a failed parser, when fed valid bytes, then it returns the same error and emits nothing', () => {
    const parser = new FrontendParser();
    const first = parser.parse(hex('00000004'), () => {});
    let emitted = 0;
    const second = parser.parse(golden.PSQL_STARTUP, () => emitted++);
    assert.ok(first);
    assert.equal(second, first);
    assert.equal(emitted, 0);
  });

  it('given messages before a malformed one in the same chunk, then they are emitted first', () => {
    const { messages, error } = feedFrontend([typed('51 0000000e 73656c65637420313b00 5a')]);
    assert.deepStrictEqual(
      messages.map((m) => m.type),
      ['Startup', 'Query'],
    );
    assert.equal(error?.code, 'AG_ERR_PROTOCOL_VIOLATION');
  });

  it('given an invalid maxMessageBytes, then the constructor throws AG_ERR_CONFIG_INVALID', () => {
    assert.throws(
      () => new FrontendParser({ maxMessageBytes: 0 }),
      (e: unknown) => e instanceof GatewayError && e.code === 'AG_ERR_CONFIG_INVALID',
    );
  });

  it('given an onMessage callback that throws, then the error propagates and is not mistaken for a protocol error', () => {
    const parser = new FrontendParser();
    assert.throws(
      () =>
        parser.parse(golden.PSQL_STARTUP, () => {
          throw new Error('caller bug');
        }),
      /caller bug/,
    );
    assert.equal(parser.phase, 'typed');
  });
});
