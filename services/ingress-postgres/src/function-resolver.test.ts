// given catalog answers and a clock, when OIDs are resolved, then built-ins are asked once, other
// answers expire after the TTL, failures are never kept and every refusal carries its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { FunctionResolver, answerExpiry, functionCallSql, type CatalogAnswer } from './function-resolver.js';

function setup(answers: Map<number, CatalogAnswer | Error>) {
  let now = 1_000_000;
  const asked: number[] = [];
  const resolver = new FunctionResolver({ ttlMs: 30_000, maxEntries: 3, now: () => now });
  const lookup = async (oid: number): Promise<CatalogAnswer> => {
    asked.push(oid);
    const answer = answers.get(oid) ?? null;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return {
    resolver,
    asked,
    lookup,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const LO_OPEN = { schema: 'pg_catalog', name: 'lo_open' };
const MINE = { schema: 'public', name: 'my_fn' };

function code(err: unknown): string {
  return err instanceof GatewayError ? err.code : String(err);
}

test('a built-in function OID is looked up once and kept for good', async () => {
  const { resolver, asked, lookup, advance } = setup(new Map([[952, LO_OPEN]]));
  assert.deepEqual(await resolver.resolve('demo', 'rw', 952, lookup), LO_OPEN);
  advance(365 * 24 * 3600 * 1000);
  assert.deepEqual(await resolver.resolve('demo', 'rw', 952, lookup), LO_OPEN);
  assert.deepEqual(asked, [952]);
});

test('a user function OID is trusted for the TTL, then asked again', async () => {
  const answers = new Map<number, CatalogAnswer>([[16500, MINE]]);
  const { resolver, asked, lookup, advance } = setup(answers);
  assert.deepEqual(await resolver.resolve('demo', 'rw', 16500, lookup), MINE);
  advance(29_999);
  await resolver.resolve('demo', 'rw', 16500, lookup);
  assert.deepEqual(asked, [16500]);
  advance(1);
  // Dropped and its OID reused by another function: the new name is what is decided on.
  answers.set(16500, { schema: 'public', name: 'other_fn' });
  assert.deepEqual(await resolver.resolve('demo', 'rw', 16500, lookup), { schema: 'public', name: 'other_fn' });
  assert.deepEqual(asked, [16500, 16500]);
});

test('answers are kept per connection and target role', async () => {
  const { resolver, asked, lookup } = setup(new Map([[952, LO_OPEN]]));
  await resolver.resolve('demo', 'rw', 952, lookup);
  await resolver.resolve('demo', 'ro', 952, lookup);
  await resolver.resolve('scratch', 'rw', 952, lookup);
  assert.deepEqual(asked, [952, 952, 952]);
});

test('an OID the catalog does not know is refused with AG_ERR_FUNCTION_UNKNOWN, and that answer expires too', async () => {
  const answers = new Map<number, CatalogAnswer>();
  const { resolver, asked, lookup, advance } = setup(answers);
  await assert.rejects(resolver.resolve('demo', 'rw', 99, lookup), (e) => code(e) === 'AG_ERR_FUNCTION_UNKNOWN');
  await assert.rejects(resolver.resolve('demo', 'rw', 99, lookup), (e) => code(e) === 'AG_ERR_FUNCTION_UNKNOWN');
  assert.deepEqual(asked, [99]);
  advance(30_000);
  answers.set(99, LO_OPEN);
  assert.deepEqual(await resolver.resolve('demo', 'rw', 99, lookup), LO_OPEN);
});

test('a failed lookup is refused with AG_ERR_FUNCTION_LOOKUP_FAILED and never kept', async () => {
  const answers = new Map<number, CatalogAnswer | Error>([[952, new Error('connection refused')]]);
  const { resolver, asked, lookup } = setup(answers);
  await assert.rejects(resolver.resolve('demo', 'rw', 952, lookup), (e) => code(e) === 'AG_ERR_FUNCTION_LOOKUP_FAILED');
  answers.set(952, LO_OPEN);
  assert.deepEqual(await resolver.resolve('demo', 'rw', 952, lookup), LO_OPEN);
  assert.deepEqual(asked, [952, 952]);
});

test('concurrent calls for one OID share one lookup', async () => {
  const { resolver, asked, lookup } = setup(new Map([[952, LO_OPEN]]));
  const results = await Promise.all([1, 2, 3].map(() => resolver.resolve('demo', 'rw', 952, lookup)));
  assert.deepEqual(results, [LO_OPEN, LO_OPEN, LO_OPEN]);
  assert.deepEqual(asked, [952]);
});

test('the cache holds at most maxEntries answers, dropping the oldest', async () => {
  const { resolver, asked, lookup } = setup(new Map());
  for (const oid of [1, 2, 3, 4]) await resolver.resolve('demo', 'rw', oid, lookup).catch(() => undefined);
  assert.equal(resolver.size, 3);
  await resolver.resolve('demo', 'rw', 1, lookup).catch(() => undefined);
  assert.deepEqual(asked, [1, 2, 3, 4, 1]);
});

test('answerExpiry: only a found built-in is kept for good', () => {
  assert.equal(answerExpiry(16383, LO_OPEN, 0, 10), Number.POSITIVE_INFINITY);
  assert.equal(answerExpiry(16384, MINE, 0, 10), 10);
  assert.equal(answerExpiry(5, null, 0, 10), 10);
});

test('functionCallSql: the schema-qualified call with bound parameters, names quoted, and the OID', () => {
  assert.equal(functionCallSql(LO_OPEN, 952, 2), 'SELECT "pg_catalog"."lo_open"($1, $2) /* fast-path FunctionCall of function OID 952 */');
  assert.equal(
    functionCallSql({ schema: 'we"ird', name: 'f*/x' }, 20000, 0),
    'SELECT "we""ird"."f*/x"() /* fast-path FunctionCall of function OID 20000 */',
  );
});
