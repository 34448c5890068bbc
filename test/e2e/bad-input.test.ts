// Bad input gets a clear error and loses nothing: garbage on the wire is answered with an
// ErrorResponse (08P01) and a clean close, and the gateway keeps serving everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { psql, stack, uniqueMarker } from '../support/stack.js';

function exchange(bytes: Buffer, halfClose = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: stack.ingressHost, port: stack.ingressPort });
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => reject(new Error('no answer and no close within 5 s')));
    socket.on('connect', () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

function sqlState(answer: Buffer): string | undefined {
  if (answer[0] !== 0x45) return undefined; // 'E' ErrorResponse
  const fields = answer.subarray(5).toString('utf8').split('\0');
  return fields.find((f) => f.startsWith('C'))?.slice(1);
}

test('garbage instead of a startup message gets 08P01 and a close', async () => {
  const answer = await exchange(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(sqlState(answer), '08P01');
});

test('an absurd startup length gets 08P01 before any body is read', async () => {
  const answer = await exchange(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
  assert.equal(sqlState(answer), '08P01');
});

test('a client that never finishes its startup is cut off', async () => {
  const answer = await exchange(Buffer.from([0, 0, 0, 16]));
  assert.equal(sqlState(answer), '08P01');
});

test('after a storm of malformed connections the gateway still serves', async () => {
  for (let i = 0; i < 50; i++) {
    const junk = Buffer.alloc(1 + (i * 7) % 64, i);
    await exchange(junk, true).catch(() => Buffer.alloc(0));
  }
  const result = await psql(['-tA', '-c', 'select 1'], { applicationName: uniqueMarker('e2e_after_storm') });
  assert.equal(result.stdout.trim(), '1');
});
