import assert from 'node:assert/strict';
import { test } from 'node:test';
import { responseObserved } from './response.js';

test('every field not given is empty; masking counts become entries', () => {
  const r = responseObserved('r1', 'ok', { httpStatus: 200, masking: { card: 2 } });
  assert.equal(r.requestId, 'r1');
  assert.equal(r.outcome, 'ok');
  assert.equal(r.httpStatus, 200);
  assert.deepEqual(r.masking, [{ key: 'card', count: 2 }]);
  assert.deepEqual([r.rowCount, r.bytes, r.durationUs, r.sampleTruncated], [0, 0, 0, false]);
  assert.deepEqual(
    [r.resultDigest, r.errorCode, r.errorMessage, r.exitStatus, r.exitSignal, r.bodySample],
    [null, null, null, null, null, null],
  );
  assert.deepEqual([r.commandTags, r.columns, r.sampleRows, r.streams], [[], [], [], []]);
});

test('a field given as undefined does not erase its default', () => {
  // Callers spread optional values; an explicit undefined must not reach the Avro encoder.
  const r = responseObserved('r1', 'ok', { errorCode: undefined });
  assert.equal(r.errorCode, null);
});
