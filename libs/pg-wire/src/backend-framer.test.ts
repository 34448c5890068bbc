import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeCommandComplete,
  decodeDataRowColumnCount,
  decodeErrorFields,
  decodeReadyForQuery,
  decodeRowDescription,
} from './backend-decoders.js';
import { BackendFramer } from './backend-framer.js';
import { feedBackend, splits } from './testing/feed.js';
import * as server from './testing/golden-backend.js';
import { hex } from './testing/golden-frontend.js';

const streams = [
  { name: 'SSL declined then SCRAM login', stream: server.SERVER_SCRAM_LOGIN, expectSsl: true },
  { name: 'select 1', stream: server.SERVER_SELECT_1, expectSsl: false },
  { name: 'undefined table error', stream: server.SERVER_UNDEFINED_TABLE, expectSsl: false },
  { name: 'cancelled query', stream: server.SERVER_CANCELLED, expectSsl: false },
  { name: 'md5 request', stream: server.SERVER_MD5_REQUEST, expectSsl: false },
  { name: 'COPY FROM STDIN', stream: server.SERVER_COPY_IN, expectSsl: false },
  { name: 'extended query', stream: server.SERVER_EXTENDED_QUERY, expectSsl: false },
];

describe('BackendFramer with PostgreSQL 15 bytes', () => {
  for (const s of streams) {
    it(`${s.name}: every split offset and byte-by-byte yield identical frames that concatenate to the input`, () => {
      const reference = feedBackend([s.stream], { expectSsl: s.expectSsl });
      assert.equal(reference.error, undefined);
      assert.deepStrictEqual(Buffer.concat(reference.messages.map((f) => f.raw)), s.stream);
      for (const { label, chunks } of splits(s.stream)) {
        const { messages, error } = feedBackend(chunks, { expectSsl: s.expectSsl });
        assert.equal(error, undefined, label);
        assert.deepStrictEqual(messages, reference.messages, label);
      }
    });
  }

  it('given the SCRAM login stream, then frame types and decoded contents match the exchange', () => {
    const { messages } = feedBackend([server.SERVER_SCRAM_LOGIN], { expectSsl: true });
    assert.deepStrictEqual(messages.map((f) => f.type).join(''), `SSLResponseRRRR${'S'.repeat(13)}KZ`);
    const [ssl, sasl, cont, fin, ok] = messages;
    assert.equal(ssl?.raw.toString(), 'N');
    assert.deepStrictEqual(decodeAuthentication(sasl!.raw), { kind: 'sasl', mechanisms: ['SCRAM-SHA-256'] });
    assert.deepStrictEqual(decodeAuthentication(cont!.raw), {
      kind: 'sasl-continue',
      data: Buffer.from('r=p8bFKhyDgtucGo7YWuioHeepNkYv1m1gbMP5kVCbg6XkWLuU,s=m2SRKom/mOGvlgD9R/Vrnw==,i=4096'),
    });
    assert.deepStrictEqual(decodeAuthentication(fin!.raw), {
      kind: 'sasl-final',
      data: Buffer.from('v=FuoPa1cfSPtjo4N6RoPPW1Gba9o78VFyvMiwltzmBa0='),
    });
    assert.deepStrictEqual(decodeAuthentication(ok!.raw), { kind: 'ok' });
    // The captured secret key 0xf6be9b56 has its top bit set: Int32 on the wire reads negative.
    assert.deepStrictEqual(decodeBackendKeyData(messages.at(-2)!.raw), { processId: 0x1a51, secretKey: 0xf6be9b56 | 0 });
    assert.equal(decodeReadyForQuery(messages.at(-1)!.raw), 'I');
  });

  it('given the select 1 answer, then RowDescription, DataRow, CommandComplete and ReadyForQuery decode', () => {
    const [t, d, c, z] = feedBackend([server.SERVER_SELECT_1]).messages;
    assert.deepStrictEqual(decodeRowDescription(t!.raw), [
      { name: '?column?', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
    ]);
    assert.equal(decodeDataRowColumnCount(d!.raw), 1);
    assert.equal(decodeCommandComplete(c!.raw), 'SELECT 1');
    assert.equal(decodeReadyForQuery(z!.raw), 'I');
  });

  it('given the undefined table error, then all fields decode with the non-localized severity', () => {
    const [e] = feedBackend([server.SERVER_UNDEFINED_TABLE]).messages;
    assert.deepStrictEqual(decodeErrorFields(e!.raw), {
      severity: 'ERROR',
      code: '42P01',
      message: 'relation "nope" does not exist',
      P: '15',
      F: 'parse_relation.c',
      L: '1392',
      R: 'parserOpenTable',
    });
  });

  it('given the cancelled query, then the error is 57014', () => {
    const e = feedBackend([server.SERVER_CANCELLED]).messages.find((f) => f.type === 'E');
    assert.equal(decodeErrorFields(e!.raw).code, '57014');
  });

  it('given the md5 request, then the salt decodes', () => {
    const [r] = feedBackend([server.SERVER_MD5_REQUEST]).messages;
    assert.deepStrictEqual(decodeAuthentication(r!.raw), { kind: 'md5', salt: hex('e7ab7093') });
  });

  it('given the extended query answer, then the row description has both columns', () => {
    const frames = feedBackend([server.SERVER_EXTENDED_QUERY]).messages;
    assert.deepStrictEqual(
      frames.map((f) => f.type),
      ['1', '2', 'T', 'D', 'C', 'Z'],
    );
    assert.deepStrictEqual(
      decodeRowDescription(frames[2]!.raw).map((f) => [f.name, f.typeOid, f.typeSize]),
      [
        ['n', 23, 4],
        ['t', 25, -1],
      ],
    );
    assert.equal(decodeDataRowColumnCount(frames[3]!.raw), 2);
  });
});

describe('BackendFramer SSL answer and errors', () => {
  it("given 'S' followed by injected bytes, then it pauses after the SSLResponse with the bytes buffered", () => {
    const framer = new BackendFramer();
    framer.expectSslResponse();
    const seen: string[] = [];
    assert.equal(
      framer.push(hex('53 5a0000000549'), (f) => seen.push(f.type)),
      undefined,
    );
    assert.deepStrictEqual(seen, ['SSLResponse']);
    // A client about to start TLS must refuse here (CVE-2021-23222).
    assert.equal(framer.bufferedBytes, 6);
  });

  it('given an ErrorResponse instead of an SSL answer, then it is framed normally', () => {
    const { messages, error } = feedBackend([server.SERVER_UNDEFINED_TABLE], { expectSsl: true });
    assert.equal(error, undefined);
    assert.deepStrictEqual(
      messages.map((f) => f.type),
      ['E', 'Z'],
    );
  });

  it('given any other byte as SSL answer, then AG_ERR_PROTOCOL_VIOLATION', () => {
    assert.equal(feedBackend([hex('5a')], { expectSsl: true }).error?.code, 'AG_ERR_PROTOCOL_VIOLATION');
  });

  it('given a length below 4, then AG_ERR_PROTOCOL_VIOLATION, and the framer stays failed', () => {
    const framer = new BackendFramer();
    const first = framer.push(hex('5a 00000003'), () => {});
    assert.ok(first instanceof GatewayError);
    assert.equal(first.code, 'AG_ERR_PROTOCOL_VIOLATION');
    assert.equal(
      framer.push(server.SERVER_SELECT_1, () => assert.fail('emitted after failure')),
      first,
    );
  });

  it('given a length over maxMessageBytes, then AG_ERR_MESSAGE_TOO_LARGE from the header alone', () => {
    assert.equal(feedBackend([hex('44 00100000')], { maxMessageBytes: 1024 }).error?.code, 'AG_ERR_MESSAGE_TOO_LARGE');
  });
});
