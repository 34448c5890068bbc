import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FrontendMessage } from './frontend-messages.js';
import { FrontendParser } from './frontend-parser.js';
import { feedFrontend, splits } from './testing/feed.js';
import * as golden from './testing/golden-frontend.js';

const { hex } = golden;

function params(p: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, p);
}

type WithoutRaw<T> = T extends unknown ? Omit<T, 'raw'> : never;
type Decoded = WithoutRaw<FrontendMessage>;

/** Drops `raw` so expectations read as decoded fields; raw is checked separately. */
function fields(messages: FrontendMessage[]): Decoded[] {
  return messages.map(({ raw: _raw, ...rest }) => rest as Decoded);
}

interface GoldenCase {
  name: string;
  stream: Buffer;
  expected: Decoded[];
}

const psqlStartupDecoded = {
  type: 'Startup',
  protocolVersion: { major: 3, minor: 0 },
  parameters: params({ user: 'postgres', database: 'postgres', application_name: 'psql', client_encoding: 'UTF8' }),
} as const;

const cases: GoldenCase[] = [
  { name: 'psql 15 SSLRequest', stream: golden.PSQL_SSL_REQUEST, expected: [{ type: 'SSLRequest' }] },
  { name: 'GSSENCRequest', stream: golden.GSSENC_REQUEST, expected: [{ type: 'GSSENCRequest' }] },
  {
    name: 'psql 15 CancelRequest',
    stream: golden.PSQL_CANCEL_REQUEST,
    expected: [{ type: 'CancelRequest', processId: 6803, secretKey: 0x1252eed0 }],
  },
  {
    name: 'psql 15 session: SSLRequest declined, StartupMessage, Query select 1;, Terminate',
    stream: Buffer.concat([golden.PSQL_SSL_REQUEST, golden.PSQL_STARTUP, golden.PSQL_QUERY_SELECT_1, golden.PSQL_TERMINATE]),
    expected: [{ type: 'SSLRequest' }, psqlStartupDecoded, { type: 'Query', sql: 'select 1;' }, { type: 'Terminate' }],
  },
  {
    name: 'psql 15 SCRAM login',
    stream: Buffer.concat([golden.PSQL_STARTUP, golden.PSQL_SASL_INITIAL_RESPONSE, golden.PSQL_SASL_RESPONSE]),
    expected: [
      psqlStartupDecoded,
      { type: 'PasswordLike', payload: golden.PSQL_SASL_INITIAL_RESPONSE.subarray(5) },
      { type: 'PasswordLike', payload: golden.PSQL_SASL_RESPONSE.subarray(5) },
    ],
  },
  {
    name: 'psql 15 md5 login',
    stream: Buffer.concat([golden.PSQL_STARTUP, golden.PSQL_MD5_PASSWORD]),
    expected: [psqlStartupDecoded, { type: 'PasswordLike', payload: golden.PSQL_MD5_PASSWORD.subarray(5) }],
  },
  {
    name: 'psql 15 \\copy from stdin',
    stream: Buffer.concat([golden.PSQL_STARTUP, golden.PSQL_COPY_FROM_STDIN]),
    expected: [
      psqlStartupDecoded,
      { type: 'Query', sql: 'COPY  t FROM STDIN ' },
      { type: 'CopyData', data: Buffer.from('1\n2\n') },
      { type: 'CopyDone' },
    ],
  },
  {
    name: 'node-postgres 8 startup, SCRAM, extended query pipeline',
    stream: Buffer.concat([golden.NODE_PG_STARTUP, golden.NODE_PG_SASL_INITIAL_RESPONSE, golden.NODE_PG_EXTENDED_QUERY]),
    expected: [
      {
        type: 'Startup',
        protocolVersion: { major: 3, minor: 0 },
        parameters: params({ user: 'scramuser', database: 'postgres', client_encoding: 'UTF8' }),
      },
      { type: 'PasswordLike', payload: golden.NODE_PG_SASL_INITIAL_RESPONSE.subarray(5) },
      { type: 'Parse', name: '', sql: 'select $1::int4 as n, $2::text as t', paramTypeOids: [] },
      { type: 'Bind', portal: '', statement: '', paramFormats: [0, 0], params: [Buffer.from('42'), null], resultFormats: [0] },
      { type: 'Describe', target: 'P', name: '' },
      { type: 'Execute', portal: '', maxRows: 0 },
      { type: 'Sync' },
    ],
  },
  {
    name: 'pg-protocol serialized Flush, Close, CopyFail, Describe, Parse, Bind, Execute',
    stream: Buffer.concat([golden.NODE_PG_STARTUP, ...Object.values(golden.PG_PROTOCOL_SERIALIZED)]),
    expected: [
      {
        type: 'Startup',
        protocolVersion: { major: 3, minor: 0 },
        parameters: params({ user: 'scramuser', database: 'postgres', client_encoding: 'UTF8' }),
      },
      { type: 'Flush' },
      { type: 'Close', target: 'S', name: 'stmt1' },
      { type: 'Close', target: 'P', name: '' },
      { type: 'CopyFail', message: 'aborted by user' },
      { type: 'Describe', target: 'S', name: 'stmt1' },
      { type: 'Parse', name: 'stmt1', sql: 'select $1', paramTypeOids: [23] },
      { type: 'Bind', portal: '', statement: '', paramFormats: [1, 0], params: [Buffer.of(1, 2), Buffer.from('x')], resultFormats: [0] },
      { type: 'Execute', portal: '', maxRows: 10 },
    ],
  },
  {
    name: 'FunctionCall (PQfn of OID 1177, no arguments)',
    stream: Buffer.concat([golden.NODE_PG_STARTUP, golden.FUNCTION_CALL]),
    expected: [
      {
        type: 'Startup',
        protocolVersion: { major: 3, minor: 0 },
        parameters: params({ user: 'scramuser', database: 'postgres', client_encoding: 'UTF8' }),
      },
      { type: 'FunctionCall', functionOid: 1177, argFormats: [], args: [], resultFormat: 0 },
    ],
  },
  {
    name: "FunctionCall of libpq's lo_open (binary arguments)",
    stream: Buffer.concat([golden.NODE_PG_STARTUP, golden.LIBPQ_LO_OPEN_CALL, golden.FUNCTION_CALL_MIXED]),
    expected: [
      {
        type: 'Startup',
        protocolVersion: { major: 3, minor: 0 },
        parameters: params({ user: 'scramuser', database: 'postgres', client_encoding: 'UTF8' }),
      },
      {
        type: 'FunctionCall',
        functionOid: 952,
        argFormats: [1],
        args: [Buffer.from('00004001', 'hex'), Buffer.from('00060000', 'hex')],
        resultFormat: 1,
      },
      { type: 'FunctionCall', functionOid: 2000000000, argFormats: [0, 1], args: [null, Buffer.from('abc')], resultFormat: 0 },
    ],
  },
];

describe('FrontendParser golden bytes', () => {
  for (const c of cases) {
    it(`${c.name}: decodes the captured bytes`, () => {
      const { messages, error } = feedFrontend([c.stream]);
      assert.equal(error, undefined);
      assert.deepStrictEqual(fields(messages), c.expected);
    });

    it(`${c.name}: raw frames concatenate back to the input, so forwarding is lossless`, () => {
      const { messages } = feedFrontend([c.stream]);
      assert.deepStrictEqual(Buffer.concat(messages.map((m) => m.raw)), c.stream);
    });

    it(`${c.name}: every split offset and byte-by-byte yield identical messages`, () => {
      const reference = feedFrontend([c.stream]).messages;
      for (const { label, chunks } of splits(c.stream)) {
        const { messages, error } = feedFrontend(chunks);
        assert.equal(error, undefined, label);
        assert.deepStrictEqual(messages, reference, label);
      }
    });
  }
});

describe('FrontendParser phases', () => {
  it('given a fresh parser, then it is in the startup phase', () => {
    assert.equal(new FrontendParser().phase, 'startup');
  });

  it('given an SSLRequest, when parsed, then the parser stays in the startup phase', () => {
    const { parser } = feedFrontend([golden.PSQL_SSL_REQUEST]);
    assert.equal(parser.phase, 'startup');
  });

  it('given a StartupMessage, when parsed, then the parser switches to the typed phase', () => {
    const { parser } = feedFrontend([golden.PSQL_STARTUP]);
    assert.equal(parser.phase, 'typed');
  });

  it('given SSLRequest and plaintext in one chunk, when parsed, then it pauses with the plaintext buffered', () => {
    const parser = new FrontendParser();
    const seen: string[] = [];
    const error = parser.parse(Buffer.concat([golden.PSQL_SSL_REQUEST, golden.PSQL_STARTUP]), (m) => seen.push(m.type));
    assert.equal(error, undefined);
    assert.deepStrictEqual(seen, ['SSLRequest']);
    // A caller accepting TLS must refuse here (CVE-2021-23214).
    assert.equal(parser.bufferedBytes, golden.PSQL_STARTUP.length);
    parser.parse(Buffer.alloc(0), (m) => seen.push(m.type));
    assert.deepStrictEqual(seen, ['SSLRequest', 'Startup']);
    assert.equal(parser.bufferedBytes, 0);
  });

  it('given protocol 3.2, when parsed, then the version is reported for the caller to negotiate', () => {
    const { messages, error } = feedFrontend([hex('0000000d 00030002 7500 7800 00')]);
    assert.equal(error, undefined);
    assert.deepStrictEqual(fields(messages), [
      { type: 'Startup', protocolVersion: { major: 3, minor: 2 }, parameters: params({ u: 'x' }) },
    ]);
  });

  it('given a duplicated parameter, then the last value wins as in the server', () => {
    const { messages } = feedFrontend([hex('00000011 00030000 7500 6100 7500 6200 00')]);
    assert.equal(messages[0]?.type === 'Startup' && messages[0].parameters['u'], 'b');
  });

  it('given a parameter named __proto__, then it is plain data', () => {
    const name = Buffer.from('__proto__\0x\0\0');
    const len = Buffer.alloc(4);
    len.writeInt32BE(8 + name.length);
    const { messages } = feedFrontend([Buffer.concat([len, hex('00030000'), name])]);
    const m = messages[0];
    assert.ok(m?.type === 'Startup');
    assert.equal(Object.getPrototypeOf(m.parameters), null);
    // A parameter named __proto__ must stay plain data, which is the point of this test.
    // biome-ignore lint/suspicious/noProto: the key under test, read as data
    assert.equal(m.parameters['__proto__'], 'x');
  });

  it('given UTF-8 SQL with a leading BOM, then the text is kept byte for byte', () => {
    const sql = "\uFEFFselect 'héllo 🐘'";
    const body = Buffer.from(`${sql}\0`);
    const frame = Buffer.concat([Buffer.from('Q'), hex((body.length + 4).toString(16).padStart(8, '0')), body]);
    const { messages } = feedFrontend([golden.PSQL_STARTUP, frame]);
    assert.deepStrictEqual(fields(messages.slice(1)), [{ type: 'Query', sql }]);
  });
});
