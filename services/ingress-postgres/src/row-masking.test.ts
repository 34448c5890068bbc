import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '@agentgate/errors';
import { compileMaskingPlan, MaskingTally, type MaskingPlan } from '@agentgate/masking';
import { maskDataRow, planRowMasking, type RelationInfo, type ResultColumn } from './row-masking.js';
import { dataRowValues } from './response-pump.js';
import { dataRow } from '@agentgate/pg-wire';

const KEY = { current: { id: 'k1', secret: new Uint8Array(32).fill(7) } };
const PLAN: MaskingPlan = {
  version: 1,
  rules: [
    { schema: 'public', table: 'customers', column: 'card_number', strategy: { kind: 'partial', keep: 4 } },
    { schema: 'public', table: 'customers', column: 'email', strategy: { kind: 'tokenize' } },
    { schema: 'public', table: 'customers', column: 'id', strategy: { kind: 'keep' } },
  ],
  detectors: ['card', 'email', 'us-ssn', 'aws-access-key-id'],
  defaultDetectorStrategy: { kind: 'redact' },
};
const plan = compileMaskingPlan(PLAN, KEY);
const CUSTOMERS: RelationInfo = {
  schema: 'public',
  table: 'customers',
  columns: new Map([
    [1, 'id'],
    [2, 'name'],
    [3, 'email'],
    [5, 'card_number'],
    [8, 'notes'],
  ]),
};
const relations = (oid: number): RelationInfo | undefined => (oid === 16384 ? CUSTOMERS : undefined);

function col(name: string, tableOid: number, columnAttr: number, typeOid = 25, format = 0): ResultColumn {
  return { name, tableOid, columnAttr, typeOid, format };
}

test('columns are named from the catalog, not by their output alias: an aliased card column is still masked', () => {
  const masking = planRowMasking([col('id', 16384, 1, 20), col('c', 16384, 5), col('e', 16384, 3)], 'demo', plan, relations);
  const out = dataRowValues(maskDataRow(dataRow(['42', '4111111111111111', 'jane.roe@example.com']), masking, plan));
  assert.equal(out[0], '42');
  assert.equal(out[1], '************1111');
  assert.match(out[2] ?? '', /^tok_[0-9a-f]+@d[0-9a-f]+\.invalid$/);
  assert.ok(!(out[2] ?? '').includes('jane'));
});

test('computed columns and free text go through the detectors, leaving the rest of the text', () => {
  const masking = planRowMasking([col('note', 0, 0), col('notes', 16384, 8)], 'demo', plan, relations);
  const tally = new MaskingTally();
  const out = dataRowValues(
    maskDataRow(dataRow(['ssn 078-05-1120 on file', 'ops pasted AKIAIOSFODNN7EXAMPLE by mistake']), masking, plan, tally),
  );
  assert.deepEqual(out, ['ssn [REDACTED:us-ssn] on file', 'ops pasted [REDACTED:aws-access-key-id] by mistake']);
  assert.deepEqual(tally.toJSON(), { 'detector:aws-access-key-id': 1, 'detector:us-ssn': 1 });
});

test('a row with nothing to mask is returned as the same buffer; NULLs stay NULL', () => {
  const masking = planRowMasking([col('name', 16384, 2), col('x', 0, 0)], 'demo', plan, relations);
  const row = dataRow(['Jane Roe', null]);
  assert.equal(maskDataRow(row, masking, plan), row);
});

test('the rebuilt frame has a correct length and cells after a masked one are intact', () => {
  const masking = planRowMasking([col('c', 16384, 5), col('name', 16384, 2), col('n', 0, 0)], 'demo', plan, relations);
  const out = maskDataRow(dataRow(['4111111111111111', 'Zoë', null]), masking, plan);
  assert.equal(out.readInt32BE(1), out.length - 1);
  assert.deepEqual(dataRowValues(out), ['************1111', 'Zoë', null]);
});

test('free text is scanned whatever its bytes: non-ASCII text with a secret, next to text no detector can match', () => {
  const masking = planRowMasking([col('name', 16384, 2), col('notes', 16384, 8), col('n', 0, 0)], 'demo', plan, relations);
  const tally = new MaskingTally();
  const out = maskDataRow(dataRow(['Jane Roe', 'Zoë: ssn 078-05-1120', 'Grace 42']), masking, plan, tally);
  assert.equal(out.readInt32BE(1), out.length - 1);
  assert.deepEqual(dataRowValues(out), ['Jane Roe', 'Zoë: ssn [REDACTED:us-ssn]', 'Grace 42']);
  assert.deepEqual(tally.toJSON(), { 'detector:us-ssn': 1 });
});

test('every kind of replacement in one row: lengths, order and the cells between them hold', () => {
  const p = compileMaskingPlan(
    {
      ...PLAN,
      rules: [
        { column: 'card', strategy: { kind: 'partial', keep: 4 } },
        { column: 'gone', strategy: { kind: 'null' } },
        { column: 'secret', strategy: { kind: 'redact' } },
        { column: 'long', strategy: { kind: 'partial', keep: 2 } },
      ],
    },
    KEY,
  );
  const names = ['card', 'plain', 'gone', 'secret', 'note', 'long', 'zoe'];
  const masking = planRowMasking(
    names.map((n) => col(n, 0, 0)),
    'demo',
    p,
    relations,
  );
  const long = `${'7'.repeat(100)}-${'8'.repeat(100)}`;
  const zoe = `Zoë ${'x'.repeat(80)} jane.roe@example.com`;
  const row = dataRow(['4111 1111 1111 1111', 'nothing here', 'drop me', 'hunter2', null, long, zoe]);
  const out = maskDataRow(row, masking, p);
  assert.equal(out.readInt32BE(1), out.length - 1);
  const values = dataRowValues(out);
  assert.deepEqual(values.slice(0, 6), [
    '**** **** **** 1111',
    'nothing here',
    null,
    '[REDACTED:column]',
    null,
    `${'*'.repeat(100)}-${'*'.repeat(98)}88`,
  ]);
  assert.match(values[6] ?? '', /^Zoë x{80} \[REDACTED:email\]$/);
  assert.equal(dataRowValues(row)[0], '4111 1111 1111 1111', 'the input frame is untouched');
});

test('a plan column in binary format is masked when its binary form is text, refused otherwise, never passed raw', () => {
  const textBinary = planRowMasking([col('c', 16384, 5, 25, 1)], 'demo', plan, relations);
  assert.deepEqual(dataRowValues(maskDataRow(dataRow(['4111111111111111']), textBinary, plan)), ['************1111']);
  assert.throws(
    () => planRowMasking([col('c', 16384, 5, 20, 1)], 'demo', plan, relations),
    (e: unknown) => e instanceof GatewayError && e.code === 'AG_ERR_MASKING_UNSUPPORTED',
  );
});

test('a column from a table the catalog did not name is refused, so a column rule cannot be missed', () => {
  assert.throws(
    () => planRowMasking([col('c', 99999, 1)], 'demo', plan, relations),
    (e: unknown) => e instanceof GatewayError && e.code === 'AG_ERR_MASKING_UNSUPPORTED',
  );
});

test('a plan with only keep rules and no detector work lets rows pass untouched', () => {
  const masking = planRowMasking([col('id', 16384, 1, 20)], 'demo', plan, relations);
  assert.equal(masking.passThrough, true);
});

test('a masked column whose bytes are not UTF-8 is replaced whole, never passed as it came', () => {
  const masking = planRowMasking([col('notes', 16384, 8)], 'demo', plan, relations);
  const raw = dataRow(['x']);
  // One cell of two bytes that are no UTF-8: 0xff 0xfe.
  const bad = Buffer.concat([raw.subarray(0, 7), Buffer.from([0, 0, 0, 2, 0xff, 0xfe])]);
  bad.writeInt32BE(bad.length - 1, 1);
  assert.deepEqual(dataRowValues(maskDataRow(bad, masking, plan)), ['[REDACTED:undecodable]']);
});
