import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chunkDigest, HandleDigest } from './sftp-stream-digest.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const file = randomBytes(10_000);
const chunks = (size: number): [number, Buffer][] => {
  const out: [number, Buffer][] = [];
  for (let o = 0; o < file.length; o += size) out.push([o, file.subarray(o, o + size)]);
  return out;
};

test('sequential chunks give the digest of the file, named read', () => {
  const d = new HandleDigest('read');
  for (const [o, c] of chunks(1024)) d.add(o, c);
  d.add(file.length, Buffer.alloc(0)); // EOF
  assert.deepEqual(d.result(), { name: 'read', bytes: file.length, sha256: sha(file) });
});

test('pipelined chunks completing out of order are put back in offset order', () => {
  const d = new HandleDigest('written');
  const list = chunks(1000);
  for (const i of [2, 0, 1, 5, 4, 3, 9, 8, 7, 6]) {
    const [o, c] = list[i] ?? [0, Buffer.alloc(0)];
    d.add(o, c);
  }
  assert.deepEqual(d.result(), { name: 'written', bytes: file.length, sha256: sha(file) });
});

test('a gap, an overlap, a start past 0 or too much held back makes it unordered, over arrival order', () => {
  const list = chunks(1000);
  const arrival = (order: number[]): string => sha(Buffer.concat(order.map((i) => list[i]?.[1] ?? Buffer.alloc(0))));

  const gap = new HandleDigest('read');
  for (const i of [0, 2]) gap.add(list[i]?.[0] ?? 0, list[i]?.[1] ?? Buffer.alloc(0));
  assert.deepEqual(gap.result(), { name: 'read-unordered', bytes: 2000, sha256: arrival([0, 2]) });

  const overlap = new HandleDigest('read');
  overlap.add(0, file.subarray(0, 1000));
  overlap.add(500, file.subarray(500, 1500));
  assert.equal(overlap.result().name, 'read-unordered');
  assert.equal(overlap.result().sha256, sha(Buffer.concat([file.subarray(0, 1000), file.subarray(500, 1500)])));

  const resumed = new HandleDigest('written');
  resumed.add(1000, file.subarray(1000, 2000));
  assert.equal(resumed.result().name, 'written-unordered');

  const bounded = new HandleDigest('read', 1500);
  for (const i of [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]) bounded.add(list[i]?.[0] ?? 0, list[i]?.[1] ?? Buffer.alloc(0));
  assert.deepEqual(bounded.result(), {
    name: 'read-unordered',
    bytes: file.length,
    sha256: arrival([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
  });
});

test('result() can be asked twice and the chunk digest is the chunk sha256', () => {
  const d = new HandleDigest('read');
  d.add(0, file);
  assert.deepEqual(d.result(), d.result());
  assert.deepEqual(chunkDigest(file), { name: 'data', bytes: file.length, sha256: sha(file) });
});
