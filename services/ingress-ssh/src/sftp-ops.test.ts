import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKnownStatus, OPEN_FLAG, openOperation, statusName } from './sftp-ops.js';

test('OPEN is a read only with READ alone (or no flag); any write, append, create, truncate or unknown bit is a write', () => {
  assert.equal(openOperation(OPEN_FLAG.READ), 'open-read');
  assert.equal(openOperation(0), 'open-read');
  for (const bit of [OPEN_FLAG.WRITE, OPEN_FLAG.APPEND, OPEN_FLAG.CREAT, OPEN_FLAG.TRUNC, OPEN_FLAG.EXCL, 0x40, 0x80000000]) {
    assert.equal(openOperation(bit), 'open-write', `flag 0x${bit.toString(16)}`);
    assert.equal(openOperation(OPEN_FLAG.READ | bit), 'open-write', `READ | 0x${bit.toString(16)}`);
  }
  // What OpenSSH's sftp `put` and scp send: WRITE | CREAT | TRUNC.
  assert.equal(openOperation(OPEN_FLAG.WRITE | OPEN_FLAG.CREAT | OPEN_FLAG.TRUNC), 'open-write');
});

test('status names are the SSH_FX_* names; a code outside v3 reads as FAILURE', () => {
  assert.equal(statusName(0), 'OK');
  assert.equal(statusName(1), 'EOF');
  assert.equal(statusName(2), 'NO_SUCH_FILE');
  assert.equal(statusName(3), 'PERMISSION_DENIED');
  assert.equal(statusName(8), 'OP_UNSUPPORTED');
  assert.equal(statusName(42), 'FAILURE');
  assert.equal(isKnownStatus(8), true);
  assert.equal(isKnownStatus(9), false);
});
