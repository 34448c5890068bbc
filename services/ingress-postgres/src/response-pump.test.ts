// given expectations and the target's frames, when the pump relays them, then the agent
// sees them in order and each statement is recorded before its completion is released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandComplete, dataRow, errorResponse, readyForQuery, rowDescription, type BackendFrame } from '@agentgate/pg-wire';
import { compileMaskingPlan } from '@agentgate/masking';
import { isGatewayError } from '@agentgate/errors';
import { ResponsePump, StatementResponse, dataRowValues, type Expectation } from './response-pump.js';
import { startResultMasking } from './result-masking.js';
import { maskingTime, statementStages } from './stage-metrics.js';

function frame(raw: Buffer): BackendFrame {
  return { type: String.fromCharCode(raw[0]!), raw };
}

/** `queued`: the frames are also offered as already queued (takeFrame), as the target's socket queues them. */
function harness(frames: Buffer[], thenClose = false, queued = false) {
  const log: string[] = [];
  const written: Buffer[] = [];
  const errors: unknown[] = [];
  const pending = [...frames];
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const pump = new ResponsePump(
    async () => {
      const next = pending.shift();
      if (!next) {
        done();
        // The target's socket closing fails the frame queue once it is empty.
        if (thenClose) return Promise.reject(new Error('target closed the connection'));
        return new Promise<BackendFrame>(() => {});
      }
      return frame(next);
    },
    {
      write: (b) => {
        log.push(`out:${String.fromCharCode(b[0]!)}`);
        written.push(b);
        return true;
      },
      drained: async () => {},
    },
    {
      record: async (r, outcome) => {
        log.push(`record:${r.requestId}:${outcome}`);
      },
      ended: (e, targetEnded) => {
        errors.push(e);
        log.push(`ended:${targetEnded}:${String(e)}`);
      },
    },
    () => {
      if (!queued) return undefined;
      const next = pending.shift();
      return next ? frame(next) : undefined;
    },
  );
  return { pump, log, finished, written, errors };
}

const T = rowDescription([{ name: 'x', typeOid: 23 }]);
const D = dataRow(['1']);
const Z = readyForQuery('I');

test('simple query: each statement is recorded before its CommandComplete goes out', async () => {
  const { pump, log, finished } = harness([T, D, commandComplete('SELECT 1'), T, D, commandComplete('SELECT 1'), Z]);
  const a = new StatementResponse('a', { rows: 10, bytes: 1000 });
  const b = new StatementResponse('b', { rows: 10, bytes: 1000 });
  pump.expect({ kind: 'simple', responses: [a, b], next: 0 });
  void pump.run();
  await finished;
  assert.deepEqual(log, ['out:T', 'out:D', 'record:a:ok', 'out:C', 'out:T', 'out:D', 'record:b:ok', 'out:C', 'out:Z']);
  assert.deepEqual(a.summary('ok').sampleRows, [['1']]);
  assert.deepEqual(a.summary('ok').commandTags, ['SELECT 1']);
});

test('simple query: an error ends the string and the rest is recorded as not run', async () => {
  const { pump, log, finished } = harness([errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero' }), Z]);
  pump.expect({ kind: 'simple', responses: [new StatementResponse('a'), new StatementResponse('b')], next: 0 });
  void pump.run();
  await finished;
  assert.deepEqual(log, ['record:a:error', 'record:b:cancelled', 'out:E', 'out:Z']);
});

test('extended protocol: after an error the target skips to Sync, so queued executes are recorded as not run', async () => {
  const { pump, log, finished } = harness([errorResponse({ severity: 'ERROR', code: '42601', message: 'syntax error' }), Z]);
  const expectations: Expectation[] = [
    { kind: 'single' },
    { kind: 'single' },
    { kind: 'execute', response: new StatementResponse('e') },
    { kind: 'sync' },
  ];
  for (const e of expectations) pump.expect(e);
  void pump.run();
  await finished;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['out:E', 'record:e:cancelled', 'out:Z']);
});

test('a local answer waits for the responses queued before it', async () => {
  const { pump, log, finished } = harness([Buffer.from([0x31, 0, 0, 0, 4]) /* ParseComplete */]);
  pump.expect({ kind: 'single' });
  pump.expect({ kind: 'local', frames: [errorResponse({ severity: 'ERROR', code: '42501', message: 'denied' })] });
  void pump.run();
  await finished;
  assert.deepEqual(log, ['out:1', 'out:E']);
});

test('sample rows stop at the limits and binary values are shown as hex', () => {
  const r = new StatementResponse('r', { rows: 2, bytes: 1000 });
  for (let i = 0; i < 5; i++) r.addRow(dataRow([String(i), null]));
  const s = r.summary('ok');
  assert.equal(s.rowCount, 5);
  assert.deepEqual(s.sampleRows, [
    ['0', null],
    ['1', null],
  ]);
  assert.equal(s.sampleTruncated, true);
  assert.deepEqual(dataRowValues(dataRow([Buffer.from([0xff, 0x00])])), ['\\x' + 'ff00']);
  const none = new StatementResponse('n');
  none.addRow(dataRow(['secret']));
  assert.deepEqual(none.summary('ok').sampleRows, []);
});

test("a FATAL from the target (pg_terminate_backend) is relayed once and the end is reported as the target's own", async () => {
  const fatal = errorResponse({ severity: 'FATAL', code: '57P01', message: 'terminating connection due to administrator command' });
  for (const expectation of [undefined, { kind: 'execute', response: new StatementResponse('e') }, { kind: 'sync' }] as (
    | Expectation
    | undefined
  )[]) {
    const { pump, log } = harness([fatal], true);
    if (expectation) pump.expect(expectation);
    await pump.run();
    assert.equal(log.filter((l) => l === 'out:E').length, 1, `one ErrorResponse with ${expectation?.kind ?? 'nothing'} pending`);
    assert.equal(log.at(-1), 'ended:true:Error: target closed the connection');
  }
});

test('a target that closes without a FATAL is reported as such, so the agent can be told', async () => {
  const { pump, log } = harness([errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero' })], true);
  await pump.run();
  assert.deepEqual(log, ['out:E', 'ended:false:Error: target closed the connection']);
});

test('simple query: more completions than the gateway split ends the session before the extra completion is released', async () => {
  const { pump, log } = harness([commandComplete('SELECT 1'), commandComplete('DROP TABLE'), Z]);
  pump.expect({ kind: 'simple', responses: [new StatementResponse('a')], next: 0 });
  await pump.run();
  assert.deepEqual(log.slice(0, 2), ['record:a:ok', 'out:C']);
  assert.match(log.at(-1)!, /^ended:false:GatewayError: the target and the gateway split a query string differently/);
  assert.equal(log.filter((l) => l === 'out:C').length, 1);
});

test('simple query: fewer completions without an error is the same disagreement', async () => {
  const { pump, log } = harness([commandComplete('SELECT 1'), Z]);
  pump.expect({ kind: 'simple', responses: [new StatementResponse('a'), new StatementResponse('b')], next: 0 });
  await pump.run();
  assert.match(log.at(-1)!, /split a query string differently/);
  assert.ok(!log.includes('out:Z'));
});

/** FunctionCallResponse: Byte1('V') Int32 length Int32 value length (-1 = NULL) Byte(n) value. */
function functionCallResponse(value: Buffer | null): Buffer {
  const out = Buffer.alloc(9 + (value?.length ?? 0));
  out.write('V', 0, 'latin1');
  out.writeInt32BE(out.length - 1, 1);
  out.writeInt32BE(value === null ? -1 : value.length, 5);
  value?.copy(out, 9);
  return out;
}

test('function call: the result is counted, sampled and recorded before it goes out, then ReadyForQuery', async () => {
  const V = functionCallResponse(Buffer.from('00000000', 'hex'));
  const { pump, log, finished } = harness([V, readyForQuery('T')]);
  const r = new StatementResponse('f', { rows: 10, bytes: 1000 });
  pump.expect({ kind: 'function-call', response: r, binaryResult: true });
  void pump.run();
  await finished;
  assert.deepEqual(log, ['record:f:ok', 'out:V', 'out:Z']);
  const summary = r.summary('ok');
  assert.equal(summary.rowCount, 1);
  assert.deepEqual(summary.sampleRows, [['\\x00000000']]);
  assert.equal(summary.bytes, V.length);
  assert.equal(pump.transactionStatus, 'T');
  assert.ok(pump.isIdle);
});

test('function call: a NULL and a text result are sampled as such', async () => {
  const { pump, finished } = harness([functionCallResponse(null), Z, functionCallResponse(Buffer.from('ok')), Z]);
  const a = new StatementResponse('a', { rows: 10, bytes: 1000 });
  const b = new StatementResponse('b', { rows: 10, bytes: 1000 });
  pump.expect({ kind: 'function-call', response: a, binaryResult: false });
  pump.expect({ kind: 'function-call', response: b, binaryResult: false });
  void pump.run();
  await finished;
  assert.deepEqual(a.summary('ok').sampleRows, [[null]]);
  assert.deepEqual(b.summary('ok').sampleRows, [['ok']]);
});

test('function call: the target error is recorded before it goes out, and the next expectation waits for ReadyForQuery', async () => {
  const { pump, log, finished } = harness([
    errorResponse({ severity: 'ERROR', code: '42501', message: 'permission denied for large object 1' }),
    readyForQuery('E'),
    T,
    D,
    commandComplete('SELECT 1'),
    Z,
  ]);
  const f = new StatementResponse('f');
  pump.expect({ kind: 'function-call', response: f, binaryResult: true });
  pump.expect({ kind: 'simple', responses: [new StatementResponse('q')], next: 0 });
  void pump.run();
  await finished;
  assert.deepEqual(log, ['record:f:error', 'out:E', 'out:Z', 'out:T', 'out:D', 'record:q:ok', 'out:C', 'out:Z']);
  assert.equal(f.summary('error').errorCode, '42501');
});

test('function call: sent while the target skips to Sync after an extended error, it is recorded as not run', async () => {
  const { pump, log, finished } = harness([errorResponse({ severity: 'ERROR', code: '42601', message: 'syntax error' })]);
  pump.expect({ kind: 'single' });
  void pump.run();
  await finished;
  pump.expect({ kind: 'function-call', response: new StatementResponse('f'), binaryResult: false });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['out:E', 'record:f:cancelled']);
});

test('a masked result: rows go out masked, and the time masking took is observed once, by the result size', async () => {
  const plan = compileMaskingPlan(
    { version: 1, rules: [], detectors: ['us-ssn'], defaultDetectorStrategy: { kind: 'redact' } },
    { current: { id: 'k1', secret: new Uint8Array(32).fill(7) } },
  );
  const count = (): number => Number(/agentgate_pg_masking_seconds_count\{rows="rows<=100"\} (\d+)/.exec(maskingTime.render())?.[1] ?? 0);
  const before = count();
  const { pump, finished, written } = harness([
    rowDescription([{ name: 'note', typeOid: 25 }]),
    dataRow(['ssn 078-05-1120 on file']),
    commandComplete('SELECT 1'),
    Z,
  ]);
  const stage = (label: string): number =>
    Number(
      new RegExp(`agentgate_pg_statement_stage_seconds_count\\{stage="${label.replace('+', '\\+')}"\\} (\\d+)`).exec(
        statementStages.render(),
      )?.[1] ?? 0,
    );
  const stagesBefore = { target: stage('target'), relay: stage('relay'), masked: stage('relay+masking') };
  const r = new StatementResponse('m', { rows: 10, bytes: 1000 });
  Object.assign(r.timing, { receivedAt: 1, requestAt: 1, forwardedAt: performance.now() });
  r.masking = startResultMasking(plan, 'demo', async () => () => undefined);
  pump.expect({ kind: 'simple', responses: [r], next: 0 });
  void pump.run();
  await finished;
  const row = written.find((b) => b[0] === 0x44)!;
  assert.deepEqual(dataRowValues(row), ['ssn [REDACTED:us-ssn] on file']);
  assert.ok(r.masking.elapsedMs > 0);
  assert.equal(count(), before + 1);
  // The target's part and the relaying, the latter under the masked label.
  assert.ok(r.timing.firstReplyAt >= r.timing.forwardedAt);
  assert.deepEqual(
    { target: stage('target'), relay: stage('relay'), masked: stage('relay+masking') },
    { target: stagesBefore.target + 1, relay: stagesBefore.relay, masked: stagesBefore.masked + 1 },
  );
});

const SSN_PLAN = compileMaskingPlan(
  { version: 1, rules: [], detectors: ['us-ssn'], defaultDetectorStrategy: { kind: 'redact' } },
  { current: { id: 'k1', secret: new Uint8Array(32).fill(7) } },
);

function maskedResponse(id: string): StatementResponse {
  const r = new StatementResponse(id, { rows: 10, bytes: 10_000 });
  r.masking = startResultMasking(SSN_PLAN, 'demo', async () => () => undefined);
  return r;
}

test('masked rows already queued are masked together: each row masked, in order, and the completion after them handled next', async () => {
  const note = rowDescription([{ name: 'note', typeOid: 25 }]);
  const { pump, log, finished, written } = harness(
    [
      note,
      dataRow(['ssn 078-05-1120']),
      dataRow(['plain']),
      dataRow(['and 219-09-9999']),
      commandComplete('SELECT 3'),
      note,
      dataRow(['078-05-1120']),
      commandComplete('SELECT 1'),
      Z,
    ],
    false,
    true,
  );
  const a = maskedResponse('a');
  const b = maskedResponse('b');
  pump.expect({ kind: 'simple', responses: [a, b], next: 0 });
  void pump.run();
  await finished;
  assert.deepEqual(log, ['out:T', 'out:D', 'out:D', 'out:D', 'record:a:ok', 'out:C', 'out:T', 'out:D', 'record:b:ok', 'out:C', 'out:Z']);
  assert.deepEqual(
    written.filter((w) => w[0] === 0x44).map((w) => dataRowValues(w)[0]),
    ['ssn [REDACTED:us-ssn]', 'plain', 'and [REDACTED:us-ssn]', '[REDACTED:us-ssn]'],
  );
  assert.equal(a.rowCount, 3);
  assert.deepEqual(a.summary('ok').masking, [{ key: 'detector:us-ssn', count: 2 }]);
  assert.equal(b.rowCount, 1);
});

test('a queued row that cannot be masked ends the session, after the rows masked before it went out', async () => {
  const { pump, log, finished, written, errors } = harness(
    [
      rowDescription([{ name: 'note', typeOid: 25 }]),
      dataRow(['ssn 078-05-1120']),
      dataRow(['a', 'b']),
      dataRow(['after']),
      commandComplete('SELECT 3'),
      Z,
    ],
    false,
    true,
  );
  pump.expect({ kind: 'simple', responses: [maskedResponse('a')], next: 0 });
  void pump.run();
  // The pump stops reading at the error: wait for its end, not for the queue to empty.
  for (let i = 0; i < 100 && !log.some((l) => l.startsWith('ended:')); i++) await new Promise((r) => setImmediate(r));
  void finished;
  assert.deepEqual(
    log.map((l) => l.split(':').slice(0, 2).join(':')),
    ['out:T', 'out:D', 'ended:false'],
  );
  assert.ok(isGatewayError(errors[0], 'AG_ERR_PROTOCOL_VIOLATION'));
  assert.deepEqual(dataRowValues(written[1]!), ['ssn [REDACTED:us-ssn]']);
  assert.equal(written.length, 2);
});
