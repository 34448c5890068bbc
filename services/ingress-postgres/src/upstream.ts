// The gateway's own connection to the target PostgreSQL: TCP, TLS as the connection asks,
// StartupMessage, then the authentication the connection allows (SCRAM-SHA-256 by default;
// md5, cleartext or trust only as opt-ins, see upstream-auth.ts) with the vaulted credential.
// Frames come out of a pull queue so the session reads them at its own pace.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as connectTls } from 'node:tls';
import { corkedWrite } from './cork.js';
import { randomBytes } from 'node:crypto';
import { serialize } from 'pg-protocol';
import { GatewayError } from '@agentgate/errors';
import { BackendFramer, decodeErrorFields, saltedPasswordCache, type BackendFrame } from '@agentgate/pg-wire';
import type { UpstreamAuthMethod, UpstreamTlsMode } from './connections.js';
import { AUTH_START, isAuthenticated, upstreamAuthStep, type UpstreamAuthState } from './upstream-auth.js';

/** How the gateway protects its own connection to the target (libpq's sslmode names). */
export interface UpstreamTls {
  /**
   * disable: plaintext. require: encrypted; the chain is verified only when caFile is given
   * (libpq's rule for a present root certificate). verify-ca: chain. verify-full: chain and name.
   */
  mode: UpstreamTlsMode;
  /** CA bundle (PEM) to verify the target's certificate; without it verify-full uses the system store. */
  caFile?: string;
  /** Name the certificate must carry (verify-full); defaults to the host. */
  serverName?: string;
}

export interface UpstreamTarget {
  tls: UpstreamTls;
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  /** Authentication methods the gateway may answer (the connection's allow-list). */
  auth: readonly UpstreamAuthMethod[];
  /** The agent's own startup parameters (application_name, options, GUCs), already decided. */
  parameters: readonly { name: string; value: string }[];
  connectTimeoutMs: number;
  maxMessageBytes: number;
}

export interface UpstreamSession {
  /** ParameterStatus frames the server sent during startup, to relay to the agent. */
  readonly parameterFrames: Buffer[];
  readonly backendKey: { processId: number; secretKey: number };
  /** Writes to the target; false when its socket buffer is full (wait for drained()). */
  send(bytes: Buffer): boolean;
  /** True while the target's socket buffer is over its high-water mark. */
  readonly congested: boolean;
  /** Resolves once the target's socket has room again (at once when it has). */
  drained(): Promise<void>;
  /** The next frame from the server; rejects with AG_ERR_UPSTREAM_UNAVAILABLE once the connection is gone. */
  nextFrame(): Promise<BackendFrame>;
  /** The next frame if one is already queued (no failure is reported here: nextFrame reports it). */
  takeFrame(): BackendFrame | undefined;
  /** Sends Terminate and closes within a bounded time; `busy` cancels the statement running first. */
  close(busy?: boolean): void;
  /** Asks the target to cancel the running statement (CancelRequest on a new connection). */
  cancel(): Promise<void>;
  readonly closed: boolean;
  onClose(listener: () => void): void;
}

// One PBKDF2 per target role and password for the life of the process, not one per login.
const SALTED_PASSWORDS = saltedPasswordCache();

// Backpressure: past this many buffered bytes the target socket is paused until the
// session has taken frames out again, so a huge result never piles up in memory.
// Why 256 KiB and not more: a queued frame lives through young-generation collections and
// is promoted, and the old generation's garbage is what grows the process. With 1 MiB a
// 1,000,000-row SELECT grew a fresh ingress by 114-164 MB, with 256 KiB by 59-78 MB
// (test/e2e/pg-clients.test.ts prints it). 64 KiB bought nothing more; the bulk scenario of
// `npm run bench` ran 64 KiB and 1 MiB alike within its noise.
const HIGH_WATER_BYTES = 256 * 1024;
const LOW_WATER_BYTES = 64 * 1024;
// How long a closing target connection may take to end by itself before it is destroyed.
const CLOSE_GRACE_MS = 2000;

class FrameQueue {
  // A queue read from `head`: Array.shift() moves every element, and a 1 MiB backlog of small
  // DataRows is tens of thousands of them (the CPU profile of a 1,000,000-row SELECT: half of
  // the ingress's time was shift()).
  private frames: BackendFrame[] = [];
  private head = 0;
  private readonly waiters: { resolve: (f: BackendFrame) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;
  private bytes = 0;
  private paused = false;
  private discarding = false;
  onPause: () => void = () => {};
  onResume: () => void = () => {};

  push(frame: BackendFrame): void {
    if (this.discarding) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(frame);
      return;
    }
    this.frames.push(frame);
    this.bytes += frame.raw.length;
    if (!this.paused && this.bytes > HIGH_WATER_BYTES) {
      this.paused = true;
      this.onPause();
    }
  }

  /** Drops what is queued and what arrives from now on, and reads on: the connection is closing. */
  discard(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
    this.discarding = true;
    if (this.paused) {
      this.paused = false;
      this.onResume();
    }
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  next(): Promise<BackendFrame> {
    const frame = this.take();
    if (frame) return Promise.resolve(frame);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  take(): BackendFrame | undefined {
    const frame = this.frames[this.head];
    if (frame) {
      this.frames[this.head] = undefined as unknown as BackendFrame;
      this.head++;
      if (this.head === this.frames.length) {
        this.frames = [];
        this.head = 0;
      } else if (this.head >= 4096 && this.head * 2 >= this.frames.length) {
        this.frames = this.frames.slice(this.head);
        this.head = 0;
      }
      this.bytes -= frame.raw.length;
      if (this.paused && this.bytes < LOW_WATER_BYTES) {
        this.paused = false;
        this.onResume();
      }
    }
    return frame;
  }
}

/**
 * The target refused the session for a reason of the agent's own (a startup parameter it does
 * not know, too many connections, ...): the agent gets the target's ErrorResponse unchanged.
 */
export class TargetStartupError extends GatewayError {
  constructor(
    readonly frame: Buffer,
    message: string,
  ) {
    super('AG_ERR_UPSTREAM_UNAVAILABLE', message);
  }
}

function upstreamError(frame: BackendFrame): GatewayError {
  const fields = decodeErrorFields(frame.raw);
  // 28P01 / 28000: the vaulted credential was refused; that is the gateway's business, and
  // the target's message names the gateway's own role: only the operator's log reads it.
  if (fields.code.startsWith('28'))
    return new GatewayError('AG_ERR_UPSTREAM_AUTH_FAILED', undefined, {
      cause: new Error(`target refused the gateway: ${fields.code} ${fields.message}`),
    });
  return new TargetStartupError(frame.raw, `target refused the session: ${fields.code}`);
}

/** Connects and authenticates; resolves once the target sent ReadyForQuery. */
export async function openUpstream(target: UpstreamTarget): Promise<UpstreamSession> {
  const socket: Socket = connect({ host: target.host, port: target.port, noDelay: true });
  const framer = new BackendFramer({ maxMessageBytes: target.maxMessageBytes });
  const queue = new FrameQueue();
  const closeListeners: (() => void)[] = [];
  let closed = false;
  // The stream frames are read from and written to: the socket, or TLS over it.
  let stream: Socket = socket;
  queue.onPause = () => stream.pause();
  queue.onResume = () => stream.resume();

  const onData = (chunk: Buffer): void => {
    const err = framer.push(chunk, (frame) => queue.push(frame));
    if (err) {
      queue.fail(err);
      socket.destroy();
    }
  };
  socket.on('data', onData);
  socket.on('error', (cause) =>
    queue.fail(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `target connection error: ${cause.message}`, { cause })),
  );
  socket.on('close', () => {
    closed = true;
    queue.fail(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', 'target closed the connection'));
    for (const l of closeListeners.splice(0)) l();
  });

  const timer = setTimeout(() => {
    queue.fail(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `target did not answer within ${target.connectTimeoutMs} ms`));
    socket.destroy();
  }, target.connectTimeoutMs);

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (cause) =>
        reject(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `cannot reach target: ${cause.message}`, { cause })),
      );
    });
    if (target.tls.mode !== 'disable') stream = await negotiateTls(socket, framer, queue, target, onData);
    const startup: Record<string, string> = { user: target.username, database: target.database };
    for (const p of target.parameters) startup[p.name] = p.value;
    stream.write(serialize.startup(startup));

    const parameterFrames: Buffer[] = [];
    let backendKey = { processId: 0, secretKey: 0 };
    let auth: UpstreamAuthState = AUTH_START;
    for (;;) {
      const frame = await queue.next();
      if (frame.type === 'E') throw upstreamError(frame);
      if (frame.type === 'R') {
        const step = upstreamAuthStep(auth, frame.raw, {
          allowed: target.auth,
          username: target.username,
          password: target.password,
          clientNonce: randomBytes(18).toString('base64'),
          saltedPassword: SALTED_PASSWORDS,
        });
        auth = step.state;
        if (step.reply) stream.write(step.reply);
        continue;
      }
      // Nothing of the session is believed before the target has authenticated itself.
      if (!isAuthenticated(auth) && frame.type !== 'N') {
        throw new GatewayError('AG_ERR_UPSTREAM_AUTH_FAILED', undefined, {
          cause: new Error(`the target sent '${frame.type}' before authentication completed`),
        });
      }
      if (frame.type === 'S') {
        parameterFrames.push(frame.raw);
      } else if (frame.type === 'K') {
        backendKey = { processId: frame.raw.readInt32BE(5), secretKey: frame.raw.readInt32BE(9) };
      } else if (frame.type === 'Z') {
        break;
      }
      // NoticeResponse during startup is dropped: it describes the gateway's login, not the agent's.
    }
    clearTimeout(timer);
    return {
      parameterFrames,
      backendKey,
      // Messages forwarded in one tick (Parse/Bind/Execute/Sync) leave as one TLS record.
      send: (bytes) => corkedWrite(stream, bytes),
      drained: () =>
        new Promise<void>((resolve) => {
          if (closed || !stream.writableNeedDrain) return resolve();
          const done = (): void => {
            stream.off('drain', done);
            stream.off('close', done);
            resolve();
          };
          stream.once('drain', done);
          stream.once('close', done);
        }),
      cancel: () => sendCancel(target, backendKey),
      nextFrame: () => queue.next(),
      takeFrame: () => queue.take(),
      close: (busy) => {
        if (closed) return;
        // A backend blocked writing a result we stopped reading never reads our Terminate, and
        // one running a statement does not notice a closed socket: cancel what runs, read and
        // drop what it still sends, and destroy the socket if it has not closed in time.
        if (busy) void sendCancel(target, backendKey);
        queue.discard();
        if (stream.writable) stream.end(serialize.end());
        setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      },
      get closed() {
        return closed;
      },
      get congested() {
        return !closed && stream.writableNeedDrain;
      },
      onClose: (listener) => {
        if (closed) listener();
        else closeListeners.push(listener);
      },
    };
  } catch (err) {
    clearTimeout(timer);
    socket.destroy();
    throw err instanceof GatewayError ? err : new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', (err as Error).message, { cause: err });
  }
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]); // length 8, code 80877103

/** Sends SSLRequest and, on 'S', wraps the socket in TLS; 'N' is fatal (every mode but disable requires TLS). */
async function negotiateTls(
  socket: Socket,
  framer: BackendFramer,
  queue: FrameQueue,
  target: UpstreamTarget,
  onData: (chunk: Buffer) => void,
): Promise<Socket> {
  framer.expectSslResponse();
  socket.write(SSL_REQUEST);
  const answer = await queue.next();
  if (answer.type !== 'SSLResponse') throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'target did not answer the SSLRequest');
  if (answer.raw[0] !== 0x53 /* 'S' */) {
    throw new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', 'the target does not offer TLS, which the connection requires');
  }
  // Bytes after 'S' and before the handshake would be trusted as if encrypted (CVE-2021-23222).
  if (framer.bufferedBytes > 0) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'target sent data before the TLS handshake');
  socket.off('data', onData);
  const tlsSocket = connectTls({ socket, ...tlsVerification(target.tls, target.host), minVersion: 'TLSv1.2' });
  tlsSocket.on('data', onData);
  await new Promise<void>((resolve, reject) => {
    tlsSocket.once('secureConnect', resolve);
    tlsSocket.once('error', (cause) =>
      reject(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `TLS to the target failed: ${cause.message}`, { cause })),
    );
  });
  tlsSocket.on('error', (cause) =>
    queue.fail(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `target TLS error: ${cause.message}`, { cause })),
  );
  return tlsSocket;
}

/**
 * What node:tls checks for a mode. require verifies the chain when the catalog names a CA,
 * as libpq does when a root certificate is present: a certificate the catalog can verify is
 * never accepted unverified. verify-ca checks the chain but not the name.
 */
export function tlsVerification(
  tls: UpstreamTls,
  host: string,
): { servername: string; rejectUnauthorized: boolean; ca?: Buffer; checkServerIdentity?: () => undefined } {
  const servername = tls.serverName ?? host;
  const ca = tls.caFile ? { ca: readFileSync(tls.caFile) } : {};
  switch (tls.mode) {
    case 'verify-full':
      return { servername, rejectUnauthorized: true, ...ca };
    case 'verify-ca':
      return { servername, rejectUnauthorized: true, ...ca, checkServerIdentity: () => undefined };
    case 'require':
      return tls.caFile
        ? { servername, rejectUnauthorized: true, ...ca, checkServerIdentity: () => undefined }
        : { servername, rejectUnauthorized: false };
    case 'disable':
      throw new GatewayError('AG_ERR_INTERNAL', 'no TLS for a connection with tls.mode disable');
    default: {
      const unknown: never = tls.mode;
      throw new GatewayError('AG_ERR_INTERNAL', `unhandled tls mode ${String(unknown)}`);
    }
  }
}

/** CancelRequest: Int32 16, Int32 80877102, Int32 process id, Int32 secret key; the server answers nothing. */
function sendCancel(target: UpstreamTarget, key: { processId: number; secretKey: number }): Promise<void> {
  return new Promise((resolve) => {
    const message = Buffer.alloc(16);
    message.writeInt32BE(16, 0);
    message.writeInt32BE(80877102, 4);
    message.writeInt32BE(key.processId, 8);
    message.writeInt32BE(key.secretKey, 12);
    const socket = connect({ host: target.host, port: target.port }, () => socket.end(message));
    socket.setTimeout(target.connectTimeoutMs, () => socket.destroy());
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}
