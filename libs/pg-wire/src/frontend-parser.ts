// Framing of the client-to-server stream, from "Message Formats" and "Message Flow":
//   startup phase: Int32 length (counts itself), Int32 code, body       -- no type byte
//     SSLRequest / GSSENCRequest keep the connection in the startup phase;
//     StartupMessage ends it.
//   typed phase:   Byte1 type, Int32 length (counts itself, not the type byte), body
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { FrameBuffer } from './frame-buffer.js';
import { decodeFrontendFrame, isFrontendType } from './frontend-decoder.js';
import type { FrontendMessage } from './frontend-messages.js';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_STARTUP_BYTES } from './limits.js';
import { messageTooLarge, protocolViolation } from './protocol-error.js';
import { decodeStartupFrame } from './startup-decoder.js';

/** Options of {@link FrontendParser}. */
export interface FrontendParserOptions {
  /** Largest accepted length field of a typed message; default the server's 1 GiB - 2. */
  maxMessageBytes?: number;
  /** Largest accepted startup-phase packet; default 10000 bytes, as the server enforces. */
  maxStartupBytes?: number;
}

/** Which framing the parser expects next; 'failed' after a protocol error. */
export type FrontendPhase = 'startup' | 'typed' | 'failed';

function sizeLimit(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 8) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `${name} must be an integer >= 8, got ${value}`);
  }
  return value;
}

/** Incremental parser of the bytes a PostgreSQL client sends; owns no socket. */
export class FrontendParser {
  #maxMessageBytes: number;
  readonly #maxStartupBytes: number;
  readonly #buffer = new FrameBuffer();
  #phase: 'startup' | 'typed' = 'startup';
  #failure: GatewayError | undefined;

  constructor(options: FrontendParserOptions = {}) {
    this.#maxMessageBytes = sizeLimit(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
    this.#maxStartupBytes = Math.min(
      sizeLimit(options.maxStartupBytes ?? DEFAULT_MAX_STARTUP_BYTES, 'maxStartupBytes'),
      this.#maxMessageBytes,
    );
  }

  /**
   * Changes the limit on typed messages from the next message on; a server reads
   * authentication messages under a smaller limit than queries.
   */
  set maxMessageBytes(value: number) {
    this.#maxMessageBytes = sizeLimit(value, 'maxMessageBytes');
  }

  get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }

  /** Current framing phase. */
  get phase(): FrontendPhase {
    return this.#failure === undefined ? this.#phase : 'failed';
  }

  /** Bytes received but not yet emitted as a message. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /**
   * Appends `chunk` and emits every complete message, in order. Returns an error value on
   * malformed or oversize input and stays failed afterwards; never throws (except what
   * `onMessage` itself throws).
   *
   * After an SSLRequest or GSSENCRequest it returns without reading further: the bytes that
   * follow mean nothing until the caller has answered. A caller that accepts encryption must
   * refuse when `bufferedBytes > 0` (plaintext injected before the handshake, CVE-2021-23214);
   * one that declines calls `parse(Buffer.alloc(0), onMessage)` to go on.
   */
  parse(chunk: Uint8Array, onMessage: (m: FrontendMessage) => void): GatewayError | undefined {
    if (this.#failure !== undefined) return this.#failure;
    this.#buffer.append(chunk);
    for (;;) {
      let message: FrontendMessage | undefined;
      try {
        message = this.#phase === 'startup' ? this.#nextStartup() : this.#nextTyped();
      } catch (err) {
        this.#failure = toGatewayError(err, 'AG_ERR_INTERNAL');
        this.#buffer.clear();
        return this.#failure;
      }
      if (message === undefined) return undefined;
      if (message.type === 'Startup') this.#phase = 'typed';
      onMessage(message);
      if (message.type === 'SSLRequest' || message.type === 'GSSENCRequest') return undefined;
    }
  }

  #nextStartup(): FrontendMessage | undefined {
    const b = this.#buffer;
    if (b.length < 4) return undefined;
    const length = b.int32At(0);
    // Length word plus request code is the shortest packet the server accepts.
    if (length < 8) throw protocolViolation(`invalid startup packet length ${length}`);
    if (length > this.#maxStartupBytes) throw messageTooLarge(length, this.#maxStartupBytes);
    if (b.length < length) return undefined;
    return decodeStartupFrame(b.take(length));
  }

  #nextTyped(): FrontendMessage | undefined {
    const b = this.#buffer;
    if (b.length < 1) return undefined;
    // Reject an unknown type as soon as its byte arrives, without waiting for a body.
    const type = b.byteAt(0);
    if (!isFrontendType(type)) throw protocolViolation(`unknown frontend message type 0x${type.toString(16)}`);
    if (b.length < 5) return undefined;
    const length = b.int32At(1);
    if (length < 4) throw protocolViolation(`invalid message length ${length}`);
    if (length > this.#maxMessageBytes) throw messageTooLarge(length, this.#maxMessageBytes);
    if (b.length < 1 + length) return undefined;
    return decodeFrontendFrame(b.take(1 + length));
  }
}
