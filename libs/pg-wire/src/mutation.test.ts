// Property test: seeded random mutations of the golden streams never make the parsers or
// decoders throw anything but GatewayError, and what they emit is always a prefix of the input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import * as decoders from './backend-decoders.js';
import { decodePasswordMessage, decodeSaslInitialResponse } from './password-message.js';
import { feedBackend, feedFrontend } from './testing/feed.js';
import * as server from './testing/golden-backend.js';
import * as client from './testing/golden-frontend.js';
import { below, mulberry32 } from './testing/prng.js';

const ITERATIONS = 10_000;
const ERROR_CODES = new Set(['AG_ERR_PROTOCOL_VIOLATION', 'AG_ERR_MESSAGE_TOO_LARGE']);

const frontendStreams = [
  Buffer.concat([
    client.PSQL_SSL_REQUEST,
    client.PSQL_STARTUP,
    client.PSQL_SASL_INITIAL_RESPONSE,
    client.PSQL_SASL_RESPONSE,
    client.PSQL_QUERY_SELECT_1,
    client.PSQL_TERMINATE,
  ]),
  Buffer.concat([client.PSQL_STARTUP, client.PSQL_COPY_FROM_STDIN, client.PSQL_MD5_PASSWORD]),
  Buffer.concat([
    client.NODE_PG_STARTUP,
    client.NODE_PG_EXTENDED_QUERY,
    ...Object.values(client.PG_PROTOCOL_SERIALIZED),
    client.FUNCTION_CALL,
  ]),
  client.PSQL_CANCEL_REQUEST,
  client.GSSENC_REQUEST,
];
const backendStreams = [
  server.SERVER_SCRAM_LOGIN.subarray(1),
  server.SERVER_SELECT_1,
  server.SERVER_UNDEFINED_TABLE,
  server.SERVER_CANCELLED,
  server.SERVER_EXTENDED_QUERY,
  server.SERVER_MD5_REQUEST,
  server.SERVER_COPY_IN,
];

function mutate(rand: () => number, input: Buffer): Buffer {
  const b = Buffer.from(input);
  switch (below(rand, 6)) {
    case 0: // flip bits of a few bytes
      for (let n = 1 + below(rand, 4); n > 0; n--) b[below(rand, b.length)]! ^= 1 << below(rand, 8);
      return b;
    case 1: // random byte value
      b[below(rand, b.length)] = below(rand, 256);
      return b;
    case 2: // truncate
      return b.subarray(0, below(rand, b.length));
    case 3: {
      // delete a range
      const at = below(rand, b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + below(rand, 8))]);
    }
    case 4: {
      // insert random bytes
      const at = below(rand, b.length + 1);
      const extra = Buffer.from(Array.from({ length: 1 + below(rand, 8) }, () => below(rand, 256)));
      return Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
    }
    default: {
      // overwrite four bytes with a random, often huge or negative, int32
      const at = below(rand, Math.max(1, b.length - 3));
      if (b.length >= 4) b.writeUInt32BE(Math.floor(rand() * 2 ** 32), at);
      return b;
    }
  }
}

function chunk(rand: () => number, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    const n = 1 + below(rand, 32);
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

function onlyGatewayErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof GatewayError && e.code === 'AG_ERR_PROTOCOL_VIOLATION', `unexpected throw: ${String(e)}`);
  }
}

describe('seeded mutations of golden frames', () => {
  it(`${ITERATIONS} mutated client streams never throw from FrontendParser`, () => {
    const rand = mulberry32(0x5eed_0001);
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(rand, frontendStreams[below(rand, frontendStreams.length)]!);
      const { messages, error } = feedFrontend(chunk(rand, input), { maxMessageBytes: 1 << 16 });
      if (error) assert.ok(ERROR_CODES.has(error.code), `iteration ${i}: ${error.code}`);
      const emitted = Buffer.concat(messages.map((m) => m.raw));
      assert.deepStrictEqual(input.subarray(0, emitted.length), emitted, `iteration ${i}`);
      for (const m of messages) {
        if (m.type === 'PasswordLike') {
          onlyGatewayErrors(() => decodePasswordMessage(m.payload));
          onlyGatewayErrors(() => decodeSaslInitialResponse(m.payload));
        }
      }
    }
  });

  it(`${ITERATIONS} mutated server streams never throw from BackendFramer or the decoders`, () => {
    const rand = mulberry32(0x5eed_0002);
    const decode = [
      decoders.decodeAuthentication,
      decoders.decodeBackendKeyData,
      decoders.decodeCommandComplete,
      decoders.decodeDataRowColumnCount,
      decoders.decodeErrorFields,
      decoders.decodeReadyForQuery,
      decoders.decodeRowDescription,
    ];
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(rand, backendStreams[below(rand, backendStreams.length)]!);
      const { messages, error } = feedBackend(chunk(rand, input), { maxMessageBytes: 1 << 16 });
      if (error) assert.ok(ERROR_CODES.has(error.code), `iteration ${i}: ${error.code}`);
      const emitted = Buffer.concat(messages.map((m) => m.raw));
      assert.deepStrictEqual(input.subarray(0, emitted.length), emitted, `iteration ${i}`);
      for (const f of messages) for (const d of decode) onlyGatewayErrors(() => d(f.raw));
    }
  });
});
