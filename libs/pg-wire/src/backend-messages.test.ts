import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage, DatabaseError } from 'pg-protocol/dist/messages.js';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeCommandComplete,
  decodeDataRowColumnCount,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeRowDescription,
} from './backend-decoders.js';
import {
  authenticationCleartextPassword,
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  backendKeyData,
  commandComplete,
  dataRow,
  emptyQueryResponse,
  errorResponse,
  noticeResponse,
  parameterStatus,
  readyForQuery,
  rowDescription,
  sslResponse,
} from './backend-messages.js';
import type { BackendFrame } from './backend-framer.js';
import { feedBackend } from './testing/feed.js';
import { hex } from './testing/golden-frontend.js';
import * as server from './testing/golden-backend.js';

/** Frames `bytes` with BackendFramer and returns the single frame. */
function one(bytes: Buffer): BackendFrame {
  const { messages, error } = feedBackend([bytes]);
  assert.equal(error, undefined);
  assert.equal(messages.length, 1);
  return messages[0]!;
}

function isProtocolViolation(e: unknown): boolean {
  return e instanceof GatewayError && e.code === 'AG_ERR_PROTOCOL_VIOLATION';
}

describe('backend serializers match PostgreSQL 15 bytes', () => {
  it('authenticationSasl equals the server offer', () => {
    assert.deepStrictEqual(authenticationSasl(['SCRAM-SHA-256']), server.SERVER_SCRAM_LOGIN.subarray(1, 25));
  });
  it('authenticationOk, readyForQuery, parameterStatus and backendKeyData equal the server frames', () => {
    const login = feedBackend([server.SERVER_SCRAM_LOGIN], { expectSsl: true }).messages;
    assert.deepStrictEqual(authenticationOk(), login[4]!.raw);
    assert.deepStrictEqual(parameterStatus('application_name', 'psql'), login[5]!.raw);
    assert.deepStrictEqual(decodeParameterStatus(login[5]!.raw), { name: 'application_name', value: 'psql' });
    assert.throws(
      () => decodeParameterStatus(login[5]!.raw.subarray(0, -1)),
      (e: GatewayError) => e.code === 'AG_ERR_PROTOCOL_VIOLATION',
    );
    assert.deepStrictEqual(backendKeyData(0x1a51, 0xf6be9b56), login.at(-2)!.raw);
    assert.deepStrictEqual(readyForQuery('I'), login.at(-1)!.raw);
  });
  it('rowDescription, dataRow and commandComplete equal the answer to select 1', () => {
    assert.deepStrictEqual(
      Buffer.concat([
        rowDescription([{ name: '?column?', typeOid: 23, typeSize: 4 }]),
        dataRow(['1']),
        commandComplete('SELECT 1'),
        readyForQuery('I'),
      ]),
      server.SERVER_SELECT_1,
    );
  });
  it('dataRow with NULL equals the extended query answer row', () => {
    assert.deepStrictEqual(dataRow([Buffer.from('42'), null]), hex('44000000100002 00000002 3432 ffffffff'));
  });
});

describe('backend serializers round-trip through BackendFramer and the decoders', () => {
  it('authentication requests', () => {
    assert.deepStrictEqual(decodeAuthentication(one(authenticationOk()).raw), { kind: 'ok' });
    assert.deepStrictEqual(decodeAuthentication(one(authenticationCleartextPassword()).raw), { kind: 'cleartext' });
    assert.deepStrictEqual(decodeAuthentication(one(authenticationSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'])).raw), {
      kind: 'sasl',
      mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
    });
    assert.deepStrictEqual(decodeAuthentication(one(authenticationSaslContinue(Buffer.from('r=abc,s=c2FsdA==,i=4096'))).raw), {
      kind: 'sasl-continue',
      data: Buffer.from('r=abc,s=c2FsdA==,i=4096'),
    });
    assert.deepStrictEqual(decodeAuthentication(one(authenticationSaslFinal(Buffer.from('v=xyz'))).raw), {
      kind: 'sasl-final',
      data: Buffer.from('v=xyz'),
    });
    assert.deepStrictEqual(decodeAuthentication(hex('52 00000008 00000007')), { kind: 'other', code: 7 });
  });
  it('backendKeyData keeps 32-bit values, reading back as signed Int32', () => {
    assert.deepStrictEqual(decodeBackendKeyData(one(backendKeyData(4242, -5)).raw), { processId: 4242, secretKey: -5 });
    assert.deepStrictEqual(decodeBackendKeyData(one(backendKeyData(1, 0xffffffff)).raw), { processId: 1, secretKey: -1 });
  });
  it('readyForQuery for each status', () => {
    for (const s of ['I', 'T', 'E'] as const) assert.equal(decodeReadyForQuery(one(readyForQuery(s)).raw), s);
  });
  it('commandComplete and emptyQueryResponse', () => {
    assert.equal(decodeCommandComplete(one(commandComplete('INSERT 0 1')).raw), 'INSERT 0 1');
    assert.deepStrictEqual(one(emptyQueryResponse()), { type: 'I', raw: hex('49 00000004') });
  });
  it('rowDescription with every field set', () => {
    const field = { name: 'naïve', tableOid: 16384, columnAttr: 2, typeOid: 1043, typeSize: -1, typeModifier: 68, format: 1 };
    assert.deepStrictEqual(decodeRowDescription(one(rowDescription([field])).raw), [field]);
  });
  it('dataRow column count', () => {
    assert.equal(decodeDataRowColumnCount(one(dataRow(['a', null, Buffer.of(0, 1), ''])).raw), 4);
  });
  it('errorResponse and noticeResponse write S and V and read back', () => {
    const fields = { severity: 'FATAL', code: '28P01', message: 'password authentication failed', detail: 'd', hint: 'h' } as const;
    const raw = one(errorResponse(fields)).raw;
    assert.ok(raw.includes(Buffer.from('SFATAL\0VFATAL\0C28P01\0')));
    assert.deepStrictEqual(decodeErrorFields(raw), { ...fields });
    const notice = one(noticeResponse({ severity: 'WARNING', code: '01000', message: 'careful' }));
    assert.equal(notice.type, 'N');
    assert.deepStrictEqual(decodeErrorFields(notice.raw), { severity: 'WARNING', code: '01000', message: 'careful' });
  });
  it('sslResponse is one unframed byte the framer reads back', () => {
    assert.deepStrictEqual(feedBackend([sslResponse(true)], { expectSsl: true }).messages, [
      { type: 'SSLResponse', raw: Buffer.from('S') },
    ]);
    assert.deepStrictEqual(feedBackend([sslResponse(false)], { expectSsl: true }).messages, [
      { type: 'SSLResponse', raw: Buffer.from('N') },
    ]);
  });
});

describe('errorResponse is understood by pg-protocol (node-postgres)', () => {
  it('given an errorResponse, when pg-protocol parses it, then name, code, message and detail match', () => {
    const bytes = errorResponse({
      severity: 'ERROR',
      code: '42501',
      message: 'denied by policy',
      detail: 'rule no-ddl',
      hint: 'ask for approval',
    });
    const seen: BackendMessage[] = [];
    new Parser().parse(bytes, (m) => seen.push(m));
    assert.equal(seen.length, 1);
    const e = seen[0] as DatabaseError;
    assert.equal(e.name, 'error');
    assert.equal(e.code, '42501');
    assert.equal(e.message, 'denied by policy');
    assert.equal(e.detail, 'rule no-ddl');
    assert.equal(e.hint, 'ask for approval');
    assert.equal(e.severity, 'ERROR');
  });
});

describe('serializers refuse values the wire cannot carry', () => {
  it('a NUL inside a String', () => {
    assert.throws(() => errorResponse({ severity: 'ERROR', code: '42501', message: 'a\0b' }), isProtocolViolation);
    assert.throws(() => commandComplete('SELECT\x001'), isProtocolViolation);
  });
  it('a malformed SQLSTATE', () => {
    assert.throws(() => errorResponse({ severity: 'ERROR', code: '4250', message: 'm' }), isProtocolViolation);
  });
  it('an empty or missing SASL mechanism list', () => {
    assert.throws(() => authenticationSasl([]), isProtocolViolation);
    assert.throws(() => authenticationSasl(['']), isProtocolViolation);
  });
  it('integers out of range', () => {
    assert.throws(() => backendKeyData(2 ** 32, 0), isProtocolViolation);
    assert.throws(() => rowDescription([{ name: 'x', typeOid: -(2 ** 31) - 1 }]), isProtocolViolation);
  });
});

describe('decoders reject malformed frames with AG_ERR_PROTOCOL_VIOLATION', () => {
  const cases: [string, () => unknown][] = [
    ['wrong type byte', () => decodeReadyForQuery(commandComplete('x'))],
    ['length field mismatch', () => decodeReadyForQuery(hex('5a 00000006 49'))],
    ['invalid transaction status', () => decodeReadyForQuery(hex('5a 00000005 58'))],
    ['error fields without terminator', () => decodeErrorFields(hex('45 00000009 53 4552524f52'))],
    ['error fields without code', () => decodeErrorFields(hex('45 0000000b 53 4552524f5200 00'))],
    ['row description with negative count', () => decodeRowDescription(hex('54 00000006 ffff'))],
    ['row description truncated', () => decodeRowDescription(hex('54 0000000a 0001 6100 0000'))],
    ['md5 request without salt', () => decodeAuthentication(hex('52 00000008 00000005'))],
    ['authentication ok with trailing bytes', () => decodeAuthentication(hex('52 00000009 00000000 00'))],
    ['backend key data too long (protocol 3.2 key)', () => decodeBackendKeyData(hex('4b 00000010 00000001 00000002 00000003'))],
    ['command complete unterminated', () => decodeCommandComplete(hex('43 00000005 41'))],
    ['empty buffer', () => decodeDataRowColumnCount(Buffer.alloc(0))],
  ];
  for (const [name, run] of cases) {
    it(name, () => assert.throws(run, isProtocolViolation));
  }
});
