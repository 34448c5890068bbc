import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandleTable } from './sftp-handle-table.js';

const targetHandle = (n: number): Buffer => Buffer.from([0, 0, 0, n]);

test('the agent gets handles of our own, never the target bytes, and never the same twice', () => {
  const table = new HandleTable();
  const a = table.add(targetHandle(1), '/a', 'file', 1);
  const b = table.add(targetHandle(1), '/b', 'file', 1);
  assert.notDeepEqual(a.agentHandle, b.agentHandle);
  assert.equal(table.lookup(a.agentHandle)?.path, '/a');
  assert.equal(table.lookup(b.agentHandle)?.path, '/b');
  // OpenSSH reuses a closed slot: the retired agent handle must not reach the new file.
  table.remove(a);
  const c = table.add(targetHandle(1), '/c', 'file', 1);
  assert.equal(table.lookup(a.agentHandle), undefined);
  assert.notDeepEqual(c.agentHandle, a.agentHandle);
  assert.notDeepEqual(c.agentHandle, b.agentHandle);
  assert.equal(table.lookup(b.agentHandle)?.path, '/b');
  assert.equal(table.lookup(c.agentHandle)?.targetHandle.equals(targetHandle(1)), true);
});

test('unknown, malformed, closing or wrong-kind handles are not found', () => {
  const table = new HandleTable();
  const file = table.add(Buffer.from('target-file'), '/f', 'file', 1);
  const dir = table.add(Buffer.from('target-dir'), '/d', 'dir', 0);
  assert.equal(table.lookup(Buffer.from('target-file')), undefined, 'the target handle bytes mean nothing to us');
  assert.equal(table.lookup(Buffer.alloc(0)), undefined);
  assert.equal(table.lookup(Buffer.from([0, 0, 0, 99])), undefined);
  assert.equal(table.lookup(file.agentHandle, 'dir'), undefined);
  assert.equal(table.lookup(dir.agentHandle, 'file'), undefined);
  assert.equal(table.lookup(dir.agentHandle, 'dir')?.path, '/d');
  file.closing = true;
  assert.equal(table.lookup(file.agentHandle), undefined, 'nothing more is sent on a handle whose CLOSE went out');
});

test('drain hands back every open handle once and empties the table', () => {
  const table = new HandleTable();
  const a = table.add(targetHandle(1), '/a', 'file', 1);
  table.add(targetHandle(2), '/b', 'dir', 0);
  const closing = table.add(targetHandle(3), '/c', 'file', 1);
  closing.closing = true; // its CLOSE is already on the way
  assert.deepEqual(
    table.drain().map((e) => e.path),
    ['/a', '/b'],
  );
  assert.equal(table.lookup(a.agentHandle), undefined);
  assert.deepEqual(table.drain(), []);
});
