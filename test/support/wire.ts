// A bare PostgreSQL wire client for checks that must see every frame the gateway sends:
// how many ErrorResponses, in which order, and when the connection closes.
import { connect, type Socket } from 'node:net';
import { BackendFramer, decodeErrorFields, decodeParameterStatus, type BackendFrame } from '@agentgate/pg-wire';
import { serialize } from 'pg-protocol';
import { stack, token } from './stack.js';

export interface WireSession {
  socket: Socket;
  /** The audit session id the gateway reported in its agentgate.session_id ParameterStatus. */
  sessionId: string | undefined;
  /** The frames of the login, up to and including its ReadyForQuery. */
  login: BackendFrame[];
  /** Every frame received since login completed. */
  frames: BackendFrame[];
  /** Resolves when the gateway closes the connection. */
  closed: Promise<void>;
  send(bytes: Buffer): void;
  /** Waits for a frame of this type after index `from`; rejects after `timeoutMs`. */
  waitFor(type: string, timeoutMs: number, from?: number): Promise<BackendFrame>;
}

/** Logs in over loopback plaintext (the gateway allows a token there) with the given startup parameters. */
export async function openWire(parameters: Record<string, string>, identity = 'demo-agent'): Promise<WireSession> {
  // Fetched before connecting: token() blocks this process while it asks the IdP, and a session
  // left mid-startup past the ingress's startup timeout (3 s) is ended, which is right of the
  // ingress but would fail every session opened together with a first, slow fetch.
  const password = token(identity);
  const socket = connect({ host: stack.ingressHost, port: stack.ingressPort });
  const framer = new BackendFramer();
  const frames: BackendFrame[] = [];
  let notify: () => void = () => {};
  socket.on('data', (chunk: Buffer) => {
    framer.push(chunk, (f) => frames.push(f));
    notify();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const waitFor = (type: string, timeoutMs: number, from = 0): Promise<BackendFrame> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${type} within ${timeoutMs} ms; got ${frames.map((f) => f.type).join('')}`)),
        timeoutMs,
      );
      const check = (): void => {
        const found = frames.slice(from).find((f) => f.type === type);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else if (socket.destroyed) {
          clearTimeout(timer);
          reject(new Error(`closed before ${type}; got ${frames.map((f) => f.type).join('')}`));
        } else {
          notify = check;
        }
      };
      check();
    });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(serialize.startup({ user: identity, database: 'demo', ...parameters }));
  await waitFor('R', 5000);
  socket.write(serialize.password(password));
  await waitFor('Z', 10_000);
  const login = frames.splice(0);
  const error = login.find((f) => f.type === 'E');
  if (error) throw new Error(`login failed: ${decodeErrorFields(error.raw).code}`);
  return {
    socket,
    sessionId: parameterStatuses(login)['agentgate.session_id'],
    login,
    frames,
    closed,
    send: (bytes) => socket.write(bytes),
    waitFor,
  };
}

/** SQLSTATEs of the ErrorResponses among `frames`. */
export function errorCodes(frames: readonly BackendFrame[]): string[] {
  return frames.filter((f) => f.type === 'E').map((f) => decodeErrorFields(f.raw).code);
}

/** The ParameterStatus values among `frames`, by name. */
export function parameterStatuses(frames: readonly BackendFrame[]): Record<string, string> {
  return Object.fromEntries(frames.filter((f) => f.type === 'S').map((f) => Object.values(decodeParameterStatus(f.raw))));
}
