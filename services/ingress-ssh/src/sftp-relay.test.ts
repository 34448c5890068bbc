// The relay's promises with fake streams: each request answered once with its own reqid,
// denial and failure never reach the target, handles stay ours, the cap holds, close()
// closes what is open. The real programs run in sftp-relay.int.test.ts.
import { createRequire } from 'node:module';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { GatewayError } from '@agentgate/errors';
import { createLogger } from '@agentgate/observability';
import type { SFTPWrapper } from 'ssh2';
import { SFTP_STATUS } from './sftp-ops.js';
import { relaySftp, type SftpGate, type SftpOutcome, type SftpRequest, unreadBytes } from './sftp-relay.js';

const log = createLogger({ service: 'sftp-relay-test', level: 'silent' });
const tick = () => new Promise((resolve) => setImmediate(resolve));

type Answer = { reqid: number; kind: string; value: unknown };

class FakeAgent extends EventEmitter {
  answers: Answer[] = [];
  ended = false;
  status(reqid: number, code: number, message?: string) {
    this.answers.push({ reqid, kind: 'status', value: { code, message } });
  }
  handle(reqid: number, handle: Buffer) {
    this.answers.push({ reqid, kind: 'handle', value: handle });
  }
  data(reqid: number, data: Buffer) {
    this.answers.push({ reqid, kind: 'data', value: data });
  }
  name(reqid: number, names: unknown) {
    this.answers.push({ reqid, kind: 'name', value: names });
  }
  attrs(reqid: number, attrs: unknown) {
    this.answers.push({ reqid, kind: 'attrs', value: attrs });
  }
  end() {
    this.ended = true;
  }
  answerTo(reqid: number): Answer {
    const all = this.answers.filter((a) => a.reqid === reqid);
    assert.equal(all.length, 1, `request ${reqid} answered ${all.length} times`);
    return all[0] as Answer;
  }
}

type Cb = (...args: unknown[]) => void;

/** A target whose calls wait until the test answers them. */
class FakeTarget extends EventEmitter {
  calls: { method: string; args: unknown[]; cb: Cb }[] = [];
  private record(method: string, args: unknown[]) {
    this.calls.push({ method, args: args.slice(0, -1), cb: args.at(-1) as Cb });
  }
  open(...args: unknown[]) {
    this.record('open', args);
  }
  close(...args: unknown[]) {
    this.record('close', args);
  }
  read(...args: unknown[]) {
    this.record('read', args);
  }
  write(...args: unknown[]) {
    this.record('write', args);
  }
  stat(...args: unknown[]) {
    this.record('stat', args);
  }
  unlink(...args: unknown[]) {
    this.record('unlink', args);
  }
  take(method: string): { args: unknown[]; cb: Cb } {
    const i = this.calls.findIndex((c) => c.method === method);
    assert.ok(i >= 0, `a ${method} call reached the target`);
    const [call] = this.calls.splice(i, 1);
    return call as { args: unknown[]; cb: Cb };
  }
}

interface Decision {
  op: SftpRequest;
  resolve: (allowed: boolean) => void;
  reject: (e: unknown) => void;
  outcome?: SftpOutcome;
}

/** A gate whose verdicts the test gives by hand. */
function manualGate(): { gate: SftpGate; decisions: Decision[] } {
  const decisions: Decision[] = [];
  const gate: SftpGate = {
    request(op) {
      return new Promise((resolve, reject) => {
        const d: Decision = {
          op,
          resolve: (allowed) =>
            resolve({
              allowed,
              message: allowed ? '' : 'no',
              done: (o) => {
                assert.equal(d.outcome, undefined, 'done called twice');
                d.outcome = o;
              },
            }),
          reject,
        };
        decisions.push(d);
      });
    },
  };
  return { gate, decisions };
}

function setup(options = {}) {
  const agent = new FakeAgent();
  const target = new FakeTarget();
  const { gate, decisions } = manualGate();
  const relay = relaySftp(agent as unknown as SFTPWrapper, target as unknown as SFTPWrapper, gate, log, options);
  return { agent, target, decisions, relay };
}

async function openFile(s: ReturnType<typeof setup>, reqid: number, path: string, targetHandle: Buffer): Promise<Buffer> {
  s.agent.emit('OPEN', reqid, path, 0x01, {});
  await tick();
  s.decisions.at(-1)?.resolve(true);
  await tick();
  s.target.take('open').cb(undefined, targetHandle);
  await tick();
  const answer = s.agent.answerTo(reqid);
  assert.equal(answer.kind, 'handle');
  return answer.value as Buffer;
}

test('the agent gets our handle, reads pass unchanged with their digests, close closes the target handle', async () => {
  const s = setup();
  const targetHandle = Buffer.from('TARGET-HANDLE-7');
  const handle = await openFile(s, 1, '/srv/f', targetHandle);
  assert.notDeepEqual(handle, targetHandle);
  assert.equal(handle.includes(targetHandle), false);

  s.agent.emit('READ', 2, targetHandle, 0, 4096); // the target's bytes are no handle of ours
  s.agent.emit('READ', 3, handle, 0, 4096);
  await tick();
  assert.deepEqual(s.agent.answerTo(2).value, { code: SFTP_STATUS.FAILURE, message: 'invalid handle' });
  assert.deepEqual(
    s.decisions.map((d) => d.op),
    [
      { operation: 'open-read', path: '/srv/f', targetPath: null, offset: null, length: null },
      { operation: 'read', path: '/srv/f', targetPath: null, offset: 0, length: 4096 },
    ],
  );
  s.decisions[1]?.resolve(true);
  await tick();
  const read = s.target.take('read');
  assert.deepEqual(read.args[0], targetHandle);
  const payload = Buffer.from('exact bytes, no masking: 4111-1111-1111-1111');
  const buf = read.args[1] as Buffer;
  payload.copy(buf);
  read.cb(undefined, payload.length, buf, 0);
  await tick();
  assert.deepEqual(s.agent.answerTo(3).value, payload);
  assert.equal(s.decisions[1]?.outcome?.streams[0]?.name, 'data');
  assert.equal(s.decisions[1]?.outcome?.streams[0]?.bytes, payload.length);

  s.agent.emit('CLOSE', 4, handle);
  await tick();
  s.decisions[2]?.resolve(true);
  await tick();
  const close = s.target.take('close');
  assert.deepEqual(close.args[0], targetHandle);
  close.cb(undefined);
  await tick();
  assert.deepEqual(s.agent.answerTo(4).value, { code: SFTP_STATUS.OK, message: '' });
  assert.deepEqual(
    s.decisions[2]?.outcome?.streams.map((d) => [d.name, d.bytes]),
    [['read', payload.length]],
  );

  s.agent.emit('READ', 5, handle, 0, 10); // closed: unknown again
  assert.deepEqual(s.agent.answerTo(5).value, { code: SFTP_STATUS.FAILURE, message: 'invalid handle' });
});

test('a denied request never reaches the target and is answered permission denied', async () => {
  const s = setup();
  s.agent.emit('REMOVE', 7, '/etc/passwd');
  await tick();
  s.decisions[0]?.resolve(false);
  await tick();
  assert.deepEqual(s.agent.answerTo(7).value, { code: SFTP_STATUS.PERMISSION_DENIED, message: 'no' });
  assert.equal(s.target.calls.length, 0);
  assert.equal(s.decisions[0]?.outcome?.outcome, 'denied');
});

test('a gate failure answers FAILURE, answers every other request once, then ends the session', async () => {
  const s = setup();
  s.agent.emit('STAT', 1, '/a');
  s.agent.emit('STAT', 2, '/b');
  s.agent.emit('STAT', 3, '/c');
  await tick();
  s.decisions[0]?.resolve(true); // /a goes to the target
  await tick();
  s.decisions[1]?.reject(new GatewayError('AG_ERR_AUDIT_UNAVAILABLE', 'audit log unavailable'));
  await tick();
  assert.deepEqual(s.agent.answerTo(2).value, { code: SFTP_STATUS.FAILURE, message: 'audit log unavailable' });
  assert.deepEqual(s.agent.answerTo(3).value, { code: SFTP_STATUS.FAILURE, message: 'audit log unavailable' });
  assert.equal(s.agent.ended, false, 'the request at the target is still owed an answer');

  s.agent.emit('STAT', 4, '/d'); // after the failure: refused without asking the gate
  assert.deepEqual(s.agent.answerTo(4).value, { code: SFTP_STATUS.FAILURE, message: 'audit log unavailable' });
  assert.equal(s.decisions.length, 3);

  s.decisions[2]?.resolve(true); // a late verdict for /c: recorded as failed, never forwarded
  await tick();
  assert.equal(s.decisions[2]?.outcome?.outcome, 'failed');
  assert.equal(s.decisions[2]?.outcome?.errorCode, 'AG_ERR_AUDIT_UNAVAILABLE');

  s.target.take('stat').cb(undefined, { mode: 0o100644, size: 1 });
  await tick();
  assert.equal(s.agent.answerTo(1).kind, 'attrs');
  assert.equal(s.agent.ended, true);
  assert.equal(s.target.calls.length, 0, 'only /a reached the target');
  assert.equal(s.agent.answers.length, 4);
});

test('over the outstanding cap the agent gets FAILURE at once; nothing queues', async () => {
  const s = setup({ maxOutstanding: 2 });
  s.agent.emit('STAT', 1, '/a');
  s.agent.emit('STAT', 2, '/b');
  s.agent.emit('STAT', 3, '/c');
  assert.deepEqual(s.agent.answerTo(3).value, { code: SFTP_STATUS.FAILURE, message: 'too many outstanding requests' });
  await tick();
  assert.equal(s.decisions.length, 2);
  s.decisions[0]?.resolve(false);
  await tick();
  s.agent.emit('STAT', 4, '/d'); // room again
  await tick();
  assert.equal(s.decisions.length, 3);
});

test('unreadBytes reads what the installed ssh2 queues for an agent whose window is full', () => {
  // ssh2's SFTP server object, its channel window at 0: a DATA answer is queued, not sent.
  const { SFTP } = createRequire(import.meta.url)('ssh2/lib/protocol/SFTP.js') as {
    SFTP: new (client: object, chanInfo: object, cfg: object) => SFTPWrapper;
  };
  const sftp = new SFTP(
    { _protocol: {}, _chanMgr: {} },
    {
      type: 'sftp',
      incoming: { id: 0, window: 1, packetSize: 1, state: 'open' },
      outgoing: { id: 0, window: 0, packetSize: 32768, state: 'open' },
    },
    { server: true },
  );
  assert.equal(unreadBytes(sftp), 0);
  sftp.data(1, Buffer.alloc(100));
  assert.equal(unreadBytes(sftp), 113, 'a DATA packet: 4 length + 1 type + 4 id + 4 data length + 100');
});

test('a client that asks without reading its answers gets FAILURE once they pass the unread cap', async () => {
  const s = setup({ maxUnreadBytes: 1000 });
  const queued = s.agent as unknown as { _buffer: Buffer[] };
  queued._buffer = [Buffer.alloc(600)];
  s.agent.emit('STAT', 1, '/a');
  await tick();
  assert.equal(s.decisions.length, 1, 'under the cap the request is decided');
  queued._buffer.push(Buffer.alloc(600));
  s.agent.emit('STAT', 2, '/b');
  assert.deepEqual(s.agent.answerTo(2).value, { code: SFTP_STATUS.FAILURE, message: 'too many unread answers' });
  await tick();
  assert.equal(s.decisions.length, 1, 'nothing past the cap reaches the gate');
  queued._buffer = [];
  s.agent.emit('STAT', 3, '/c');
  await tick();
  assert.equal(s.decisions.length, 2, 'once the agent reads, requests flow again');
});

test('target errors are relayed with their status; a lost target fails what it held and ends the session', async () => {
  const s = setup();
  s.agent.emit('STAT', 1, '/missing');
  s.agent.emit('STAT', 2, '/slow');
  await tick();
  s.decisions[0]?.resolve(true);
  s.decisions[1]?.resolve(true);
  await tick();
  s.target.take('stat').cb(Object.assign(new Error('No such file'), { code: SFTP_STATUS.NO_SUCH_FILE }));
  await tick();
  assert.deepEqual(s.agent.answerTo(1).value, { code: SFTP_STATUS.NO_SUCH_FILE, message: 'No such file' });
  assert.deepEqual(s.decisions[0]?.outcome, { outcome: 'error', errorCode: 'NO_SUCH_FILE', errorMessage: 'No such file', streams: [] });

  // ssh2 fails what is pending with a code-less error, then the stream ends.
  s.target.take('stat').cb(new Error('No response from server'));
  s.target.emit('end');
  await tick();
  assert.equal((s.agent.answerTo(2).value as { code: number }).code, SFTP_STATUS.FAILURE);
  assert.equal(s.decisions[1]?.outcome?.errorCode, 'AG_ERR_UPSTREAM_CLOSED');
  assert.equal(s.agent.ended, true);
});

test('close() closes every open target handle and answers what waits for a verdict', async () => {
  const s = setup();
  const a = await openFile(s, 1, '/a', Buffer.from('T1'));
  await openFile(s, 2, '/b', Buffer.from('T2'));
  s.agent.emit('READ', 3, a, 0, 10);
  await tick();
  s.relay.close();
  assert.deepEqual(s.agent.answerTo(3).value, { code: SFTP_STATUS.FAILURE, message: 'the SFTP session is closing' });
  assert.deepEqual(
    s.target.calls.filter((c) => c.method === 'close').map((c) => String(c.args[0])),
    ['T1', 'T2'],
  );
  s.decisions[2]?.resolve(true);
  await tick();
  assert.equal(s.target.calls.filter((c) => c.method === 'read').length, 0);
  assert.equal(s.decisions[2]?.outcome?.outcome, 'failed');
});

test('EXTENDED is answered OP_UNSUPPORTED without a verdict', () => {
  const s = setup();
  s.agent.emit('EXTENDED', 9, 'posix-rename@openssh.com', Buffer.alloc(0));
  assert.deepEqual(s.agent.answerTo(9).value, { code: SFTP_STATUS.OP_UNSUPPORTED, message: 'operation unsupported' });
  assert.equal(s.decisions.length, 0);
});
