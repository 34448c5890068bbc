// Bad input gets a clear error and loses nothing: garbage on the wire is answered with an
// ErrorResponse (08P01) and a clean close, and the gateway keeps serving everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
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

// Before its StartupMessage a connection is not yet a PostgreSQL session: on garbage the
// server logs "invalid length of startup packet" and closes without a reply, and so does the gateway.
test('garbage instead of a startup message gets the connection closed without a reply', async () => {
  const answer = await exchange(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(answer.length, 0, `no reply expected, got ${answer.toString('hex').slice(0, 40)}`);
});

test('an absurd startup length is closed before any body is read, without a reply', async () => {
  const answer = await exchange(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
  assert.equal(answer.length, 0);
});

test('a Terminate before the startup message is closed without a reply', async () => {
  const answer = await exchange(Buffer.from([0x58, 0, 0, 0, 4]));
  assert.equal(answer.length, 0);
});

test('a client that never finishes its startup is cut off', async () => {
  // exchange() fails if neither an answer nor a close comes within 5 s; the startup timeout is 3 s.
  const answer = await exchange(Buffer.from([0, 0, 0, 16]));
  assert.equal(answer.length, 0);
});

test("a password message over PostgreSQL's 65535-byte limit is refused as a token too large (28P01) before it is read", async () => {
  const startup = Buffer.concat([Buffer.from('user\0demo-agent\0database\0demo\0\0')]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + startup.length, 0);
  header.writeInt32BE(196608, 4);
  const password = Buffer.alloc(5);
  password.write('p', 0);
  password.writeInt32BE(70_000, 1);
  const answer = await exchange(Buffer.concat([header, startup, password]));
  // AuthenticationCleartextPassword first, then the refusal.
  const error = answer.subarray(answer.indexOf(0x45));
  assert.equal(sqlState(error), '28P01');
});

test('after a storm of malformed connections the gateway still serves', async () => {
  for (let i = 0; i < 50; i++) {
    const junk = Buffer.alloc(1 + ((i * 7) % 64), i);
    await exchange(junk, true).catch(() => Buffer.alloc(0));
  }
  const result = await psql(['-tA', '-c', 'select 1'], { applicationName: uniqueMarker('e2e_after_storm') });
  assert.equal(result.stdout.trim(), '1');
});

function holdOpen(localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: stack.ingressHost, port: stack.ingressPort, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function answerOf(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

// Defaults of AG_PG_MAX_UNAUTHENTICATED_PER_ADDRESS and AG_PG_MAX_UNAUTHENTICATED.
const PER_ADDRESS = 50;
const TOTAL = 200;

test('half-open connections are limited per client address and in total (53300), and agents still get in afterwards', async () => {
  const held: Socket[] = [];
  try {
    for (let i = 0; i < PER_ADDRESS; i++) held.push(await holdOpen('127.0.0.2'));
    assert.equal(sqlState(await answerOf(await holdOpen('127.0.0.2'))), '53300', 'one address over its share');
    // Other addresses still get in, until the total is reached.
    for (let a = 3; held.length < TOTAL; a++) {
      for (let i = 0; i < PER_ADDRESS && held.length < TOTAL; i++) held.push(await holdOpen(`127.0.0.${a}`));
    }
    assert.equal(sqlState(await answerOf(await holdOpen('127.0.0.99'))), '53300', 'the total reached');
  } finally {
    for (const s of held) s.destroy();
  }
  const result = await psql(['-tA', '-c', 'select 1'], { applicationName: uniqueMarker('e2e_after_halfopen') });
  assert.equal(result.stdout.trim(), '1', result.stderr);
});
