// The gateway's own connection to the target PostgreSQL: TCP, StartupMessage, then
// SCRAM-SHA-256 (or md5 / cleartext for old servers) with the vaulted credential.
// Frames come out of a pull queue so the session reads them at its own pace.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { serialize } from 'pg-protocol';
import { GatewayError } from '@agentgate/errors';
import {
  BackendFramer, decodeAuthentication, decodeErrorFields, md5PasswordHash,
  scramClientFinal, scramClientFirst, scramVerifyServerFinal, type BackendFrame,
} from '@agentgate/pg-wire';

export interface UpstreamTarget {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
  applicationName: string;
  connectTimeoutMs: number;
  maxMessageBytes: number;
}

export interface UpstreamSession {
  /** ParameterStatus frames the server sent during startup, to relay to the agent. */
  readonly parameterFrames: Buffer[];
  readonly backendKey: { processId: number; secretKey: number };
  send(bytes: Buffer): void;
  /** The next frame from the server; rejects with AG_ERR_UPSTREAM_UNAVAILABLE once the connection is gone. */
  nextFrame(): Promise<BackendFrame>;
  /** Sends Terminate and closes. */
  close(): void;
  readonly closed: boolean;
  onClose(listener: () => void): void;
}

class FrameQueue {
  private readonly frames: BackendFrame[] = [];
  private readonly waiters: { resolve: (f: BackendFrame) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  push(frame: BackendFrame): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(frame);
    else this.frames.push(frame);
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  next(): Promise<BackendFrame> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

function upstreamError(frame: BackendFrame): GatewayError {
  const fields = decodeErrorFields(frame.raw);
  // 28P01 / 28000: the vaulted credential was refused.
  const code = fields.code.startsWith('28') ? 'AG_ERR_UPSTREAM_AUTH_FAILED' : 'AG_ERR_UPSTREAM_UNAVAILABLE';
  return new GatewayError(code, `target refused the gateway: ${fields.code} ${fields.message}`);
}

/** Connects and authenticates; resolves once the target sent ReadyForQuery. */
export async function openUpstream(target: UpstreamTarget): Promise<UpstreamSession> {
  const socket: Socket = connect({ host: target.host, port: target.port, noDelay: true });
  const framer = new BackendFramer({ maxMessageBytes: target.maxMessageBytes });
  const queue = new FrameQueue();
  const closeListeners: (() => void)[] = [];
  let closed = false;

  socket.on('data', (chunk: Buffer) => {
    const err = framer.push(chunk, (frame) => queue.push(frame));
    if (err) {
      queue.fail(err);
      socket.destroy();
    }
  });
  socket.on('error', (cause) => queue.fail(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `target connection error: ${cause.message}`, { cause })));
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
      socket.once('error', (cause) => reject(new GatewayError('AG_ERR_UPSTREAM_UNAVAILABLE', `cannot reach target: ${cause.message}`, { cause })));
    });
    socket.write(serialize.startup({ user: target.username, database: target.database, application_name: target.applicationName, client_encoding: 'UTF8' }));

    const parameterFrames: Buffer[] = [];
    let backendKey = { processId: 0, secretKey: 0 };
    let scram: ReturnType<typeof scramClientFirst> | undefined;
    let expectedServerSignature: string | undefined;
    for (;;) {
      const frame = await queue.next();
      if (frame.type === 'E') throw upstreamError(frame);
      if (frame.type === 'R') {
        const auth = decodeAuthentication(frame.raw);
        switch (auth.kind) {
          case 'ok':
            break;
          case 'cleartext':
            socket.write(serialize.password(target.password));
            break;
          case 'md5':
            socket.write(serialize.password(md5PasswordHash(target.username, target.password, auth.salt)));
            break;
          case 'sasl':
            if (!auth.mechanisms.includes('SCRAM-SHA-256')) {
              throw new GatewayError('AG_ERR_UPSTREAM_AUTH_FAILED', `target offers no supported SASL mechanism (${auth.mechanisms.join(', ')})`);
            }
            scram = scramClientFirst(randomBytes(18).toString('base64'));
            socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.message));
            break;
          case 'sasl-continue': {
            if (!scram) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'SASLContinue before SASL');
            const final = scramClientFinal(scram.state, auth.data.toString('utf8'), target.password);
            expectedServerSignature = final.expectedServerSignature;
            socket.write(serialize.sendSCRAMClientFinalMessage(final.message));
            break;
          }
          case 'sasl-final':
            if (!expectedServerSignature) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'SASLFinal before SASLContinue');
            scramVerifyServerFinal(expectedServerSignature, auth.data.toString('utf8'));
            break;
          case 'other':
            throw new GatewayError('AG_ERR_UPSTREAM_AUTH_FAILED', `unsupported authentication request ${auth.code}`);
          default: {
            const unknown: never = auth;
            throw new GatewayError('AG_ERR_INTERNAL', `unhandled auth ${String(unknown)}`);
          }
        }
      } else if (frame.type === 'S') {
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
      send: (bytes) => void socket.write(bytes),
      nextFrame: () => queue.next(),
      close: () => {
        if (!closed && socket.writable) socket.end(serialize.end());
        else socket.destroy();
      },
      get closed() {
        return closed;
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
