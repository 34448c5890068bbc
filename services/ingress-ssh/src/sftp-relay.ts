// The SFTP relay: every request of the agent's SFTP session (ssh2 server stream) is recorded
// and decided by the gate before it is sent on the target's SFTP session (ssh2 client
// stream), and its outcome is recorded before the agent sees the answer.
//
// Wire facts the relay leans on (SFTP v3, ssh2 1.17):
// - every request carries a uint32 request id; the server answers each exactly once and may
//   answer out of order (OpenSSH clients keep up to 64 reads or writes in flight);
// - handles are opaque strings of at most 256 bytes; the agent gets our own (HandleTable);
// - ssh2's server stream answers a request type nobody listens to with OP_UNSUPPORTED, and
//   advertises no extensions in VERSION, so OpenSSH clients fall back to the core requests.
//
// File content passes unchanged in both directions: SFTP is a byte-exact transfer, and the
// per-chunk and per-handle SHA-256 digests recorded in the audit must equal what the agent
// and the target hold. Masking applies to terminal and query output, never to files.
import { toGatewayError } from '@agentgate/errors';
import type { StreamDigest } from '@agentgate/events';
import type { Logger } from '@agentgate/observability';
import type { Attributes, FileEntry, InputAttributes, SFTPWrapper } from 'ssh2';
import { type HandleEntry, type HandleKind, HandleTable } from './sftp-handle-table.js';
import { isKnownStatus, OPEN_FLAG, openOperation, SFTP_STATUS, statusName } from './sftp-ops.js';
import { chunkDigest } from './sftp-stream-digest.js';

export type SftpOperation =
  | 'open-read'
  | 'open-write'
  | 'read'
  | 'write'
  | 'close'
  | 'remove'
  | 'rename'
  | 'mkdir'
  | 'rmdir'
  | 'setstat'
  | 'opendir'
  | 'readdir'
  | 'stat'
  | 'readlink'
  | 'symlink'
  | 'realpath';

/**
 * One SFTP request as the agent sent it. Paths are the agent's words, not canonical: the
 * target resolves relative paths, `..` and symlinks after the decision.
 * rename: path is the old name, targetPath the new; symlink: path is the link, targetPath
 * what it points to.
 */
export interface SftpRequest {
  operation: SftpOperation;
  path: string | null;
  targetPath: string | null;
  offset: number | null;
  length: number | null;
}

export interface SftpOutcome {
  /** EOF on read/readdir is the normal end of a stream: outcome ok, errorCode EOF. */
  outcome: 'ok' | 'error' | 'denied' | 'failed';
  /** The SFTP status name for errors (NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, ...) or an AG_ERR_* code. */
  errorCode: string | null;
  errorMessage: string | null;
  /**
   * read/write: the chunk's bytes and SHA-256 ('data'; a write's chunk is recorded whatever
   * its outcome, it is what the agent tried to write); close: the whole handle's totals
   * ('read' / 'written', digest over the bytes in offset order when they were sequential from
   * offset 0, else over the chunks in arrival order, named 'read-unordered' / 'written-unordered').
   */
  streams: StreamDigest[];
}

export interface SftpGate {
  /**
   * Records the request and waits for its verdict. allowed=false: answer the agent PERMISSION_DENIED with `message`.
   * Rejects (a GatewayError) when the audit log or the verdict is unavailable: answer FAILURE with the error's message and end the SFTP session (fail closed).
   */
  request(op: SftpRequest): Promise<{ allowed: boolean; message: string; done: (outcome: SftpOutcome) => void }>;
}

export interface SftpRelayOptions {
  /** Requests decided or in flight at once; beyond it the agent gets FAILURE, nothing queues. */
  maxOutstanding?: number;
  /** A longer READ is answered short, as SFTP allows and clients expect. */
  maxReadLength?: number;
  /**
   * Answers the agent has not taken yet (its SSH window is full), in bytes, beyond which new
   * requests get FAILURE: a client that asks without reading cannot grow the gateway's memory.
   */
  maxUnreadBytes?: number;
}

export const DEFAULT_MAX_OUTSTANDING = 128;
/** OpenSSH's own cap on one read (SFTP_MAX_MSG_LENGTH - 1024), so ssh2 never splits one. */
export const DEFAULT_MAX_READ_LENGTH = 256 * 1024 - 1024;
/** Far above what real clients leave unread (OpenSSH's sftp keeps 64 reads of 32 KiB in flight). */
export const DEFAULT_MAX_UNREAD_BYTES = 16 * 1024 * 1024;

/**
 * Bytes ssh2 holds for the agent because its channel window is full. ssh2's SFTP queues such
 * packets in `_buffer` and has no public count or drain event; an absent field reads as 0.
 */
export function unreadBytes(agent: SFTPWrapper): number {
  const queued = (agent as unknown as { _buffer?: unknown })._buffer;
  if (!Array.isArray(queued)) return 0;
  let total = 0;
  for (const packet of queued) if (Buffer.isBuffer(packet)) total += packet.length;
  return total;
}

type Answer =
  | { kind: 'status'; code: number; message: string }
  | { kind: 'handle'; handle: Buffer }
  | { kind: 'data'; data: Buffer }
  | { kind: 'name'; names: FileEntry[] }
  | { kind: 'attrs'; attrs: Attributes };

interface Result {
  outcome: SftpOutcome;
  answer: Answer;
}

interface Pending {
  readonly reqid: number;
  stage: 'gate' | 'target';
  answered: boolean;
}

interface Stop {
  code: string | null;
  message: string;
}

interface HandleRef {
  handle: Buffer;
  kind?: HandleKind;
}

type SftpError = Error & { code?: unknown };

/** ssh2 filters `.` and `..` from READDIR unless asked for the full listing; the agent gets the target's own. */
type ReaddirFull = (handle: Buffer, opts: { full: boolean }, cb: (err: Error | undefined, list: FileEntry[]) => void) => void;

const EOF_ANSWER: Answer = { kind: 'status', code: SFTP_STATUS.EOF, message: 'End of file' };
const OK_ANSWER: Answer = { kind: 'status', code: SFTP_STATUS.OK, message: '' };
const NO_NAME_ATTRS = {} as Attributes;

function failure(message: string): Answer {
  return { kind: 'status', code: SFTP_STATUS.FAILURE, message };
}

function ok(answer: Answer, streams: StreamDigest[] = []): Result {
  return { outcome: { outcome: 'ok', errorCode: null, errorMessage: null, streams }, answer };
}

/** The target's answer to a failed request, relayed as the target gave it. */
function fromTargetError(err: SftpError, streams: StreamDigest[] = []): Result {
  if (typeof err.code !== 'number') {
    // ssh2 fails pending requests with a code-less error when the target's channel ends.
    const message = 'the target connection was lost';
    return {
      outcome: { outcome: 'failed', errorCode: 'AG_ERR_UPSTREAM_CLOSED', errorMessage: message, streams },
      answer: failure(message),
    };
  }
  if (err.code === SFTP_STATUS.EOF) {
    return { outcome: { outcome: 'ok', errorCode: 'EOF', errorMessage: null, streams }, answer: EOF_ANSWER };
  }
  const code = isKnownStatus(err.code) ? err.code : SFTP_STATUS.FAILURE;
  return {
    outcome: { outcome: 'error', errorCode: statusName(code), errorMessage: err.message, streams },
    answer: { kind: 'status', code, message: err.message },
  };
}

function nameAnswer(filename: string): Answer {
  // OpenSSH answers REALPATH and READLINK with longname = filename and no attributes.
  return { kind: 'name', names: [{ filename, longname: filename, attrs: NO_NAME_ATTRS }] };
}

/** The close's totals: a file's read and written streams, each when the open asked for it or it carried bytes. */
function handleTotals(entry: HandleEntry): StreamDigest[] {
  if (entry.kind === 'dir') return [];
  const streams: StreamDigest[] = [];
  if ((entry.flags & OPEN_FLAG.READ) !== 0 || entry.read.bytes > 0) streams.push(entry.read.result());
  if (openOperation(entry.flags) === 'open-write' || entry.written.bytes > 0) streams.push(entry.written.result());
  return streams;
}

/**
 * sshd sends the subsystem's exit status before closing the channel, and OpenSSH's scp fails
 * a transfer whose session closes without one (ssh exits 255). ssh2's server SFTP stream has
 * no exit(), so this reaches for the channel's protocol the way ssh2's own Channel.exit() does.
 */
function sendExitStatus(agent: SFTPWrapper, status: number): void {
  const channel = agent as unknown as {
    _protocol?: { exitStatus?: (id: number, status: number) => void };
    outgoing?: { id: number; state: string };
  };
  if (channel.outgoing?.state !== 'open' || typeof channel._protocol?.exitStatus !== 'function') return;
  channel._protocol.exitStatus(channel.outgoing.id, status);
}

function request(operation: SftpOperation, path: string | null, extra: Partial<SftpRequest> = {}): SftpRequest {
  return { operation, path, targetPath: null, offset: null, length: null, ...extra };
}

/**
 * Relays one SFTP session. `agent` is the server stream from the session's sftp accept(),
 * `target` the client stream to the real target, or a promise of it.
 *
 * Call accept() and relaySftp() in the same tick as the session's 'sftp' event: OpenSSH
 * sends INIT and its first request right behind the subsystem request, ssh2 drops channel
 * data that arrives before accept(), and answers OP_UNSUPPORTED itself to a request nobody
 * listens to yet. Opening the target stream takes round trips, so pass it as a promise:
 * requests wait for it after their verdict (a rejected promise ends the session).
 *
 * close() stops forwarding, answers what waits for a verdict with FAILURE and closes every
 * target handle still open; the streams themselves belong to the caller, except that a gate
 * failure or a lost target ends the agent's SFTP session once every request is answered.
 */
export function relaySftp(
  agent: SFTPWrapper,
  target: SFTPWrapper | Promise<SFTPWrapper>,
  gate: SftpGate,
  log: Logger,
  options: SftpRelayOptions = {},
): { close(): void } {
  const maxOutstanding = options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
  const maxReadLength = options.maxReadLength ?? DEFAULT_MAX_READ_LENGTH;
  const maxUnreadBytes = options.maxUnreadBytes ?? DEFAULT_MAX_UNREAD_BYTES;
  const handles = new HandleTable();
  const pending = new Set<Pending>();
  let agentOpen = true;
  /** Set once the target stream is ready, cleared when it is gone. */
  let targetStream: SFTPWrapper | null = null;
  const targetReady = Promise.resolve(target);
  let stopped: Stop | null = null;
  let endAgent = false;
  let agentEnded = false;

  function sendAnswer(reqid: number, answer: Answer): void {
    if (!agentOpen) return;
    try {
      switch (answer.kind) {
        case 'status':
          agent.status(reqid, answer.code, answer.message);
          return;
        case 'handle':
          agent.handle(reqid, answer.handle);
          return;
        case 'data':
          agent.data(reqid, answer.data);
          return;
        case 'name':
          agent.name(reqid, answer.names);
          return;
        case 'attrs':
          agent.attrs(reqid, answer.attrs);
          return;
        default: {
          const never: never = answer;
          throw new Error(`unknown answer ${String(never)}`);
        }
      }
    } catch (e) {
      log.error({ reqid, err: (e as Error).message }, 'sftp answer could not be sent');
    }
  }

  /** The one place an accepted request is answered. */
  function answerOnce(p: Pending, answer: Answer): void {
    if (p.answered) return;
    p.answered = true;
    sendAnswer(p.reqid, answer);
  }

  function record(done: (outcome: SftpOutcome) => void, outcome: SftpOutcome): void {
    try {
      done(outcome);
    } catch (e) {
      log.error({ err: (e as Error).message }, 'sftp outcome could not be recorded');
    }
  }

  function finish(p: Pending, done: (outcome: SftpOutcome) => void, result: Result): void {
    pending.delete(p);
    log.debug({ reqid: p.reqid, outcome: result.outcome.outcome, errorCode: result.outcome.errorCode }, 'sftp answer');
    // Recorded before the agent sees it: the audit never lags what the agent knows.
    record(done, result.outcome);
    answerOnce(p, result.answer);
    maybeEndAgent();
  }

  function maybeEndAgent(): void {
    if (!endAgent || agentEnded || !agentOpen) return;
    for (const p of pending) if (!p.answered) return;
    agentEnded = true;
    log.info({ reason: stopped?.code ?? null }, 'sftp session ended by the gateway');
    try {
      sendExitStatus(agent, stopped?.code ? 1 : 0);
      agent.end();
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'sftp session could not be ended');
    }
  }

  function closeTargetHandle(entry: HandleEntry): void {
    if (targetStream === null) return;
    try {
      targetStream.close(entry.targetHandle, (err) => {
        if (err) log.debug({ err: err.message }, 'target handle close failed');
      });
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'target handle close failed');
    }
  }

  /** Stops forwarding; what waits for a verdict is answered FAILURE now, what the target holds when it answers. */
  function stop(reason: Stop, thenEndAgent: boolean): void {
    if (stopped === null) stopped = reason;
    if (thenEndAgent) endAgent = true;
    for (const p of pending) if (p.stage === 'gate') answerOnce(p, failure(stopped.message));
    for (const entry of handles.drain()) closeTargetHandle(entry);
    maybeEndAgent();
  }

  function refuse(reqid: number, message: string): void {
    sendAnswer(reqid, failure(message));
  }

  function register(handle: Buffer, path: string, kind: HandleKind, flags: number): Buffer {
    const entry = handles.add(handle, path, kind, flags);
    // Opened after the relay stopped: the agent hears the truth, the target gets it closed now.
    if (stopped !== null) {
      handles.remove(entry);
      entry.closing = true;
      closeTargetHandle(entry);
    }
    return entry.agentHandle;
  }

  function submit(
    reqid: number,
    ref: HandleRef | null,
    describe: (entry: HandleEntry | undefined) => SftpRequest,
    run: (t: SFTPWrapper, entry: HandleEntry | undefined) => Promise<Result>,
  ): void {
    if (stopped !== null) {
      refuse(reqid, stopped.message);
      return;
    }
    if (pending.size >= maxOutstanding) {
      log.warn({ reqid, outstanding: pending.size }, 'sftp request refused: too many outstanding');
      refuse(reqid, 'too many outstanding requests');
      return;
    }
    const unread = unreadBytes(agent);
    if (unread > maxUnreadBytes) {
      log.warn({ reqid, unread }, 'sftp request refused: the agent is not reading its answers');
      refuse(reqid, 'too many unread answers');
      return;
    }
    const atArrival = ref === null ? undefined : handles.lookup(ref.handle, ref.kind);
    if (ref !== null && atArrival === undefined) {
      log.debug({ reqid }, 'sftp request on an unknown handle');
      refuse(reqid, 'invalid handle');
      return;
    }
    const op = describe(atArrival);
    log.debug({ reqid, operation: op.operation, path: op.path, targetPath: op.targetPath }, 'sftp request');
    const p: Pending = { reqid, stage: 'gate', answered: false };
    pending.add(p);
    let verdict: ReturnType<SftpGate['request']>;
    try {
      verdict = gate.request(op);
    } catch (e) {
      verdict = Promise.reject(e);
    }
    verdict.then(
      async (v) => {
        if (!v.allowed) {
          const outcome: SftpOutcome = { outcome: 'denied', errorCode: 'AG_ERR_POLICY_DENIED', errorMessage: v.message, streams: [] };
          return finish(p, v.done, { outcome, answer: { kind: 'status', code: SFTP_STATUS.PERMISSION_DENIED, message: v.message } });
        }
        // Waits only for the first requests of a session, while the target stream opens.
        const t = await targetReady.catch(() => null);
        if (stopped !== null || t === null || targetStream === null) {
          const reason = stopped ?? { code: 'AG_ERR_UPSTREAM_UNAVAILABLE', message: 'the target is unavailable' };
          const outcome: SftpOutcome = { outcome: 'failed', errorCode: reason.code, errorMessage: reason.message, streams: [] };
          return finish(p, v.done, { outcome, answer: failure(reason.message) });
        }
        // Looked up again: a CLOSE decided meanwhile may have retired the handle.
        const entry = ref === null ? undefined : handles.lookup(ref.handle, ref.kind);
        if (ref !== null && entry === undefined) {
          const outcome: SftpOutcome = { outcome: 'error', errorCode: 'FAILURE', errorMessage: 'invalid handle', streams: [] };
          return finish(p, v.done, { outcome, answer: failure('invalid handle') });
        }
        p.stage = 'target';
        let result: Result;
        try {
          result = await run(t, entry);
        } catch (e) {
          log.error({ reqid, operation: op.operation, err: (e as Error).message }, 'sftp request failed in the gateway');
          const outcome: SftpOutcome = {
            outcome: 'failed',
            errorCode: 'AG_ERR_INTERNAL',
            errorMessage: 'internal gateway error',
            streams: [],
          };
          result = { outcome, answer: failure('internal gateway error') };
        }
        return finish(p, v.done, result);
      },
      (e: unknown) => {
        const err = toGatewayError(e);
        log.warn({ reqid, code: err.code }, 'sftp gate unavailable: ending the session');
        pending.delete(p);
        answerOnce(p, failure(err.message));
        stop({ code: err.code, message: err.message }, true);
      },
    );
  }

  /** Runs one target call; a synchronous throw (ssh2 argument checks) becomes a rejection. */
  function targetCall(start: (resolve: (r: Result) => void) => void): Promise<Result> {
    return new Promise<Result>((resolve) => start(resolve));
  }

  function statusCallback(resolve: (r: Result) => void, streams: () => StreamDigest[] = () => []) {
    return (err: Error | undefined | null) => resolve(err ? fromTargetError(err, streams()) : ok(OK_ANSWER, streams()));
  }

  agent.on('OPEN', (reqid, filename, flags, attrs) => {
    submit(
      reqid,
      null,
      () => request(openOperation(flags), filename),
      (t) =>
        targetCall((resolve) =>
          t.open(filename, flags, attrs as InputAttributes, (err, handle) =>
            resolve(err ? fromTargetError(err) : ok({ kind: 'handle', handle: register(handle, filename, 'file', flags) })),
          ),
        ),
    );
  });

  agent.on('OPENDIR', (reqid, path) => {
    submit(
      reqid,
      null,
      () => request('opendir', path),
      (t) =>
        targetCall((resolve) =>
          t.opendir(path, (err, handle) =>
            resolve(err ? fromTargetError(err) : ok({ kind: 'handle', handle: register(handle, path, 'dir', 0) })),
          ),
        ),
    );
  });

  agent.on('READ', (reqid, handle, offset, len) => {
    submit(
      reqid,
      { handle: Buffer.from(handle), kind: 'file' },
      (entry) => request('read', entry?.path ?? null, { offset, length: len }),
      (t, entry) =>
        targetCall((resolve) => {
          const e = entry as HandleEntry;
          const want = Math.min(len, maxReadLength);
          if (want === 0) return resolve(ok({ kind: 'data', data: Buffer.alloc(0) }));
          t.read(e.targetHandle, Buffer.allocUnsafe(want), 0, want, offset, (err, bytesRead, buffer) => {
            if (err) return resolve(fromTargetError(err));
            // ssh2 turns the target's EOF status into a zero-byte read.
            if (bytesRead === 0) return resolve(fromTargetError(Object.assign(new Error('End of file'), { code: SFTP_STATUS.EOF })));
            const data = buffer.subarray(0, bytesRead);
            e.read.add(offset, data);
            resolve(ok({ kind: 'data', data }, [chunkDigest(data)]));
          });
        }),
    );
  });

  agent.on('WRITE', (reqid, handle, offset, data) => {
    // A copy: ssh2 hands us a view of its packet buffer, and the verdict is asynchronous.
    const chunk = Buffer.from(data);
    const streams = () => [chunkDigest(chunk)];
    submit(
      reqid,
      { handle: Buffer.from(handle), kind: 'file' },
      (entry) => request('write', entry?.path ?? null, { offset, length: chunk.length }),
      (t, entry) =>
        targetCall((resolve) => {
          const e = entry as HandleEntry;
          t.write(e.targetHandle, chunk, 0, chunk.length, offset, (err) => {
            if (err) return resolve(fromTargetError(err, streams()));
            e.written.add(offset, chunk);
            resolve(ok(OK_ANSWER, streams()));
          });
        }),
    );
  });

  agent.on('CLOSE', (reqid, handle) => {
    submit(
      reqid,
      { handle: Buffer.from(handle) },
      (entry) => request('close', entry?.path ?? null),
      (t, entry) =>
        targetCall((resolve) => {
          const e = entry as HandleEntry;
          e.closing = true;
          t.close(e.targetHandle, (err) => {
            // OpenSSH retires the handle whether or not its close(2) succeeded.
            handles.remove(e);
            resolve(err ? fromTargetError(err, handleTotals(e)) : ok(OK_ANSWER, handleTotals(e)));
          });
        }),
    );
  });

  agent.on('READDIR', (reqid, handle) => {
    submit(
      reqid,
      { handle: Buffer.from(handle), kind: 'dir' },
      (entry) => request('readdir', entry?.path ?? null),
      (t, entry) =>
        targetCall((resolve) => {
          const readdir = t.readdir as unknown as ReaddirFull;
          readdir.call(t, (entry as HandleEntry).targetHandle, { full: true }, (err, list) =>
            resolve(err ? fromTargetError(err) : ok({ kind: 'name', names: list })),
          );
        }),
    );
  });

  agent.on('FSTAT', (reqid, handle) => {
    submit(
      reqid,
      { handle: Buffer.from(handle) },
      (entry) => request('stat', entry?.path ?? null),
      (t, entry) =>
        targetCall((resolve) =>
          t.fstat((entry as HandleEntry).targetHandle, (err, attrs) => resolve(err ? fromTargetError(err) : ok({ kind: 'attrs', attrs }))),
        ),
    );
  });

  agent.on('FSETSTAT', (reqid, handle, attrs) => {
    submit(
      reqid,
      { handle: Buffer.from(handle) },
      (entry) => request('setstat', entry?.path ?? null),
      (t, entry) => targetCall((resolve) => t.fsetstat((entry as HandleEntry).targetHandle, attrs, statusCallback(resolve))),
    );
  });

  for (const event of ['STAT', 'LSTAT'] as const) {
    agent.on(event, (reqid: number, path: string) => {
      submit(
        reqid,
        null,
        () => request('stat', path),
        (t) =>
          targetCall((resolve) => {
            const cb = (err: Error | undefined, attrs: Attributes) => resolve(err ? fromTargetError(err) : ok({ kind: 'attrs', attrs }));
            if (event === 'STAT') t.stat(path, cb);
            else t.lstat(path, cb);
          }),
      );
    });
  }

  agent.on('SETSTAT', (reqid, path, attrs) => {
    submit(
      reqid,
      null,
      () => request('setstat', path),
      (t) => targetCall((resolve) => t.setstat(path, attrs, statusCallback(resolve))),
    );
  });

  agent.on('REMOVE', (reqid, path) => {
    submit(
      reqid,
      null,
      () => request('remove', path),
      (t) => targetCall((resolve) => t.unlink(path, statusCallback(resolve))),
    );
  });

  agent.on('RMDIR', (reqid, path) => {
    submit(
      reqid,
      null,
      () => request('rmdir', path),
      (t) => targetCall((resolve) => t.rmdir(path, statusCallback(resolve))),
    );
  });

  agent.on('MKDIR', (reqid, path, attrs) => {
    submit(
      reqid,
      null,
      () => request('mkdir', path),
      (t) => targetCall((resolve) => t.mkdir(path, attrs, statusCallback(resolve))),
    );
  });

  agent.on('RENAME', (reqid, oldPath, newPath) => {
    submit(
      reqid,
      null,
      () => request('rename', oldPath, { targetPath: newPath }),
      (t) => targetCall((resolve) => t.rename(oldPath, newPath, statusCallback(resolve))),
    );
  });

  agent.on('REALPATH', (reqid, path) => {
    submit(
      reqid,
      null,
      () => request('realpath', path),
      (t) => targetCall((resolve) => t.realpath(path, (err, absPath) => resolve(err ? fromTargetError(err) : ok(nameAnswer(absPath))))),
    );
  });

  agent.on('READLINK', (reqid, path) => {
    submit(
      reqid,
      null,
      () => request('readlink', path),
      (t) =>
        targetCall((resolve) => t.readlink(path, (err, linkTarget) => resolve(err ? fromTargetError(err) : ok(nameAnswer(linkTarget))))),
    );
  });

  // ssh2 undoes OpenSSH's swapped SYMLINK arguments, so the event carries (link, what it
  // points to) whoever the client is (the @types names them the other way round).
  agent.on('SYMLINK', (reqid: number, linkPath: string, pointsTo: string) => {
    submit(
      reqid,
      null,
      () => request('symlink', linkPath, { targetPath: pointsTo }),
      (t) => targetCall((resolve) => t.symlink(pointsTo, linkPath, statusCallback(resolve))),
    );
  });

  agent.on('EXTENDED', (reqid, extName) => {
    // We advertise no extensions; a client that sends one anyway gets the standard refusal.
    log.debug({ reqid, extension: extName }, 'sftp extended request refused');
    sendAnswer(reqid, { kind: 'status', code: SFTP_STATUS.OP_UNSUPPORTED, message: 'operation unsupported' });
  });

  // EOF from the agent is a half-close: like OpenSSH's sftp-server, finish and answer what
  // was received, then close the channel (the agent waits for that close to exit).
  const onAgentEof = () => {
    endAgent = true;
    maybeEndAgent();
  };
  const onAgentGone = () => {
    if (!agentOpen) return;
    agentOpen = false;
    stop({ code: null, message: 'the SFTP session ended before the request was forwarded' }, false);
  };
  let targetGone = false;
  const onTargetGone = (code: string, message: string) => {
    if (targetGone) return;
    targetGone = true;
    targetStream = null;
    stop({ code, message }, true);
  };
  agent.once('end', onAgentEof);
  agent.once('close', onAgentGone);
  agent.on('error', (e: Error) => log.warn({ err: e.message }, 'agent sftp stream error'));
  targetReady.then(
    (t) => {
      const lost = () => onTargetGone('AG_ERR_UPSTREAM_CLOSED', 'the target connection was lost');
      t.once('end', lost);
      t.once('close', lost);
      t.on('error', (e: Error) => log.warn({ err: e.message }, 'target sftp stream error'));
      if (!targetGone) targetStream = t;
      // Stopped before the target was ready: nothing was opened on it, nothing to close.
    },
    (e: unknown) => {
      log.warn({ code: toGatewayError(e).code }, 'target sftp stream unavailable: ending the session');
      onTargetGone('AG_ERR_UPSTREAM_UNAVAILABLE', 'the target is unavailable');
    },
  );

  return {
    close() {
      stop({ code: null, message: 'the SFTP session is closing' }, false);
    },
  };
}
