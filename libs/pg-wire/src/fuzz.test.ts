// Fuzz test of FrontendParser: seeded mutations of every golden client stream (psql,
// node-postgres, pgjdbc) must come back as messages or an error value, never a throw, and
// never lose, reorder or invent bytes. CI runs the default count; a soak sets
//   AG_FUZZ_SEED=<int>  AG_FUZZ_ITERATIONS=<int>
// (see scripts/soak-fuzz.sh). Each iteration draws from its own PRNG seeded by (seed, i), so
// a failure message names everything needed to replay that one input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '@agentgate/errors';
import type { FrontendMessage } from './frontend-messages.js';
import { FrontendParser } from './frontend-parser.js';
import { decodePasswordMessage, decodeSaslInitialResponse } from './password-message.js';
import * as client from './testing/golden-frontend.js';
import { below, mulberry32 } from './testing/prng.js';

const SEED = envInt('AG_FUZZ_SEED', 0x5eed_f022);
const ITERATIONS = envInt('AG_FUZZ_ITERATIONS', 100_000);
const ERROR_CODES = new Set(['AG_ERR_PROTOCOL_VIOLATION', 'AG_ERR_MESSAGE_TOO_LARGE']);
const EMPTY = Buffer.alloc(0);

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

interface Stream {
  name: string;
  bytes: Buffer;
  /** Offsets where a frame starts, and whether its length word is at +0 (startup) or +1 (typed). */
  frames: { at: number; lengthAt: number }[];
}

function stream(name: string, parts: Buffer[]): Stream {
  const bytes = Buffer.concat(parts);
  const frames: Stream['frames'] = [];
  const parser = new FrontendParser();
  let at = 0;
  const onMessage = (m: FrontendMessage): void => {
    const untyped = m.type === 'Startup' || m.type === 'SSLRequest' || m.type === 'GSSENCRequest' || m.type === 'CancelRequest';
    frames.push({ at, lengthAt: untyped ? 0 : 1 });
    at += m.raw.length;
  };
  let error = parser.parse(bytes, onMessage);
  while (!error && at < bytes.length) {
    const before = at;
    error = parser.parse(EMPTY, onMessage);
    if (at === before) break;
  }
  if (error || at !== bytes.length)
    throw new Error(`golden stream ${name} does not parse cleanly: ${error?.message ?? `${bytes.length - at} bytes left`}`);
  return { name, bytes, frames };
}

const streams: Stream[] = [
  stream('psql scram session', [
    client.PSQL_SSL_REQUEST,
    client.PSQL_STARTUP,
    client.PSQL_SASL_INITIAL_RESPONSE,
    client.PSQL_SASL_RESPONSE,
    client.PSQL_QUERY_SELECT_1,
    client.PSQL_TERMINATE,
  ]),
  stream('psql md5 + copy', [client.PSQL_STARTUP, client.PSQL_MD5_PASSWORD, client.PSQL_COPY_FROM_STDIN, client.PSQL_TERMINATE]),
  stream('psql cancel', [client.PSQL_CANCEL_REQUEST]),
  stream('gssenc, ssl, psql', [client.GSSENC_REQUEST, client.PSQL_SSL_REQUEST, client.PSQL_STARTUP, client.PSQL_QUERY_SELECT_1]),
  stream('node-postgres', [
    client.NODE_PG_STARTUP,
    client.NODE_PG_SASL_INITIAL_RESPONSE,
    client.NODE_PG_EXTENDED_QUERY,
    ...Object.values(client.PG_PROTOCOL_SERIALIZED),
    client.FUNCTION_CALL,
  ]),
  stream('pgjdbc session', [
    client.JDBC_STARTUP,
    client.JDBC_SET_APPLICATION_NAME,
    client.JDBC_EXTENDED_QUERY,
    client.JDBC_PREPARE_S_1,
    client.JDBC_EXECUTE_S_1,
    client.JDBC_BATCH,
    client.PSQL_TERMINATE,
  ]),
  stream('pgjdbc batch', [client.JDBC_STARTUP, client.JDBC_BATCH]),
];

type Rand = () => number;

function randomBytes(rand: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = below(rand, 256);
  return b;
}

// Length values that sit on the parser's edges: below the minimum, off by one, the startup
// and message limits, negative, and far too large.
const EDGE_LENGTHS = [0, 1, 3, 4, 5, 7, 8, 9, 16, 10_000, 10_001, 65_536, 65_537, 0x7fffffff, -1, -8, 0x80000000 | 0];

/** One mutation; `frames` are the frame starts of the unmutated source, still roughly right. */
function mutateOnce(rand: Rand, b: Buffer, source: Stream): Buffer {
  if (b.length === 0) return randomBytes(rand, 1 + below(rand, 16));
  switch (below(rand, 9)) {
    case 0: {
      // bit flips
      const out = Buffer.from(b);
      for (let n = 1 + below(rand, 4); n > 0; n--) out[below(rand, out.length)]! ^= 1 << below(rand, 8);
      return out;
    }
    case 1: {
      // random byte values
      const out = Buffer.from(b);
      for (let n = 1 + below(rand, 3); n > 0; n--) out[below(rand, out.length)] = below(rand, 256);
      return out;
    }
    case 2: {
      // insert random bytes
      const at = below(rand, b.length + 1);
      return Buffer.concat([b.subarray(0, at), randomBytes(rand, 1 + below(rand, 16)), b.subarray(at)]);
    }
    case 3: {
      // delete a range
      const at = below(rand, b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + below(rand, 16))]);
    }
    case 4: {
      // corrupt a length field: an edge value or the real one nudged by a little
      const frame = source.frames[below(rand, source.frames.length)]!;
      const at = frame.at + frame.lengthAt;
      if (at + 4 > b.length) return b.subarray(0, at);
      const out = Buffer.from(b);
      const value = rand() < 0.5 ? EDGE_LENGTHS[below(rand, EDGE_LENGTHS.length)]! : out.readInt32BE(at) + below(rand, 17) - 8;
      out.writeInt32BE(value | 0, at);
      return out;
    }
    case 5: {
      // corrupt a type byte
      const frame = source.frames[below(rand, source.frames.length)]!;
      if (frame.lengthAt === 0 || frame.at >= b.length) return b;
      const out = Buffer.from(b);
      out[frame.at] = below(rand, 256);
      return out;
    }
    case 6: // truncate
      return b.subarray(0, below(rand, b.length));
    case 7: {
      // duplicate a range in place
      const at = below(rand, b.length);
      const piece = b.subarray(at, at + 1 + below(rand, 64));
      return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
    }
    default: {
      // splice: head of this stream, tail of another, cut at frame starts or anywhere
      const other = streams[below(rand, streams.length)]!;
      const atFrames = rand() < 0.5;
      const cut = atFrames ? source.frames[below(rand, source.frames.length)]!.at : below(rand, b.length + 1);
      const from = atFrames ? other.frames[below(rand, other.frames.length)]!.at : below(rand, other.bytes.length + 1);
      return Buffer.concat([b.subarray(0, Math.min(cut, b.length)), other.bytes.subarray(from)]);
    }
  }
}

function mutate(rand: Rand, source: Stream): Buffer {
  let b = source.bytes;
  for (let n = 1 + below(rand, 3); n > 0; n--) b = mutateOnce(rand, b, source);
  return b;
}

/** Random split points: mostly small chunks, sometimes byte by byte, sometimes whole. */
function chunks(rand: Rand, b: Buffer): Buffer[] {
  const style = below(rand, 8);
  if (style === 0) return [b];
  const max = style === 1 ? 1 : style < 4 ? 8 : 64;
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const n = 1 + below(rand, max);
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

interface Outcome {
  emitted: number;
  failed: boolean;
}

/**
 * Feeds one input and checks the invariants; returns how it ended. After SSLRequest and
 * GSSENCRequest it resumes the parser with empty input, as the ingress does on declining.
 * `where` describes the input and is called only to word a failure: hex-encoding every
 * input would dominate the run time.
 */
function check(input: Buffer, parts: Buffer[], maxMessageBytes: number, where: () => string): Outcome {
  const parser = new FrontendParser({ maxMessageBytes });
  let emitted = 0;
  let sawStartup = false;
  let failure: GatewayError | undefined;
  // The parser stops after SSLRequest and GSSENCRequest until resumed.
  let paused = false;
  const onMessage = (m: FrontendMessage): void => {
    if (failure) assert.fail(`${where()}: message emitted after the parser failed`);
    // Emitted raw bytes, concatenated, are a prefix of the input: nothing lost or invented.
    if (input.compare(m.raw, 0, m.raw.length, emitted, emitted + m.raw.length) !== 0) {
      assert.fail(`${where()}: ${m.type} at offset ${emitted} is not the input's bytes`);
    }
    emitted += m.raw.length;
    if (m.type === 'Startup') sawStartup = true;
    if (m.type === 'SSLRequest' || m.type === 'GSSENCRequest') paused = true;
    if (m.type === 'PasswordLike') {
      onlyGatewayErrors(() => decodePasswordMessage(m.payload));
      onlyGatewayErrors(() => decodeSaslInitialResponse(m.payload));
    }
  };
  const feed = (chunk: Buffer): void => {
    let error: GatewayError | undefined;
    try {
      paused = false;
      error = parser.parse(chunk, onMessage);
      while (!error && !failure && paused) {
        paused = false;
        error = parser.parse(EMPTY, onMessage);
      }
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.fail(`${where()}: parse threw ${String(e)}`);
    }
    if (failure) {
      // A failed parser stays failed: the same error, nothing emitted, whatever comes next.
      if (error !== failure) assert.fail(`${where()}: a failed parser returned ${String(error)} instead of its error`);
    } else if (error) {
      if (!ERROR_CODES.has(error.code)) assert.fail(`${where()}: unexpected error code ${error.code} (${error.message})`);
      failure = error;
    }
    if (failure && parser.phase !== 'failed') assert.fail(`${where()}: phase ${parser.phase} after an error`);
  };
  for (const part of parts) feed(part);
  if (failure) {
    feed(Buffer.from('Q\0\0\0\x0dselect 1\0', 'latin1'));
  } else {
    // No error: every byte is either emitted or still buffered as an incomplete frame.
    if (emitted + parser.bufferedBytes !== input.length) assert.fail(`${where()}: bytes lost without an error`);
    const phase = sawStartup ? 'typed' : 'startup';
    if (parser.phase !== phase) assert.fail(`${where()}: phase ${parser.phase}, expected ${phase}`);
  }
  return { emitted, failed: failure !== undefined };
}

describe('fuzz: FrontendParser on mutated golden client streams', () => {
  it('every golden stream parses cleanly before mutation (psql, node-postgres, pgjdbc)', () => {
    for (const s of streams) {
      const outcome = check(s.bytes, [s.bytes], 1 << 16, () => s.name);
      assert.equal(outcome.failed, false, s.name);
      assert.equal(outcome.emitted, s.bytes.length, s.name);
    }
  });

  it(`${ITERATIONS} mutated streams (seed ${SEED}): no throw, no lost bytes, failures stay failed`, () => {
    const started = process.hrtime.bigint();
    const perStream = new Map<string, { inputs: number; failed: number; bytes: number }>();
    for (let i = 0; i < ITERATIONS; i++) {
      const rand = mulberry32((SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
      // Round robin, so every stream gets its share whatever the count.
      const source = streams[i % streams.length]!;
      const input = mutate(rand, source);
      const parts = chunks(rand, input);
      // Mostly the ingress's real limit; sometimes small, so the too-large path is hit often.
      const maxMessageBytes = rand() < 0.25 ? 8 + below(rand, 512) : 1 << 26;
      const outcome = check(
        input,
        parts,
        maxMessageBytes,
        () => `AG_FUZZ_SEED=${SEED} iteration ${i} (${source.name}, maxMessageBytes ${maxMessageBytes}) input ${input.toString('hex')}`,
      );
      const s = perStream.get(source.name) ?? { inputs: 0, failed: 0, bytes: 0 };
      s.inputs++;
      s.bytes += input.length;
      if (outcome.failed) s.failed++;
      perStream.set(source.name, s);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const rows = [...perStream].map(([name, s]) => `${name}: ${s.inputs} inputs, ${s.failed} rejected, ${s.bytes} bytes`);
    console.log(`fuzz: ${ITERATIONS} inputs in ${ms.toFixed(0)} ms (seed ${SEED})\n  ${rows.join('\n  ')}`);
    assert.equal(
      [...perStream.values()].reduce((n, s) => n + s.inputs, 0),
      ITERATIONS,
    );
  });
});
