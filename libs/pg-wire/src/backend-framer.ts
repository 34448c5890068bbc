// Framing of the server-to-client stream, from "Message Formats":
//   every backend message: Byte1 type, Int32 length (counts itself, not the type byte), body
//   except the answer to SSLRequest, a single unframed Byte1: 'S' (go ahead with TLS) or
//   'N' (no TLS). Servers too old to know SSLRequest answer with an ErrorResponse ('E').
import { GatewayError, toGatewayError } from '@agentgate/errors';
import { FrameBuffer } from './frame-buffer.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './limits.js';
import { messageTooLarge, protocolViolation } from './protocol-error.js';

/** One backend message: its type character and the exact frame bytes, type byte included. */
export interface BackendFrame {
  type: string;
  raw: Buffer;
}

/** Options of {@link BackendFramer}. */
export interface BackendFramerOptions {
  /** Largest accepted length field; default the server's 1 GiB - 2. */
  maxMessageBytes?: number;
}

/** Incremental framer of the bytes a PostgreSQL server sends; decodes nothing but the frame. */
export class BackendFramer {
  readonly #maxMessageBytes: number;
  readonly #buffer = new FrameBuffer();
  #expectSsl = false;
  #failure: GatewayError | undefined;

  constructor(options: BackendFramerOptions = {}) {
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(max) || max < 4) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', `maxMessageBytes must be an integer >= 4, got ${max}`);
    }
    this.#maxMessageBytes = max;
  }

  /** Bytes received but not yet emitted as a frame. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /** The next byte is the one-byte answer to an SSLRequest, emitted as type 'SSLResponse'. */
  expectSslResponse(): void {
    this.#expectSsl = true;
  }

  /**
   * Appends `chunk` and emits every complete frame. Returns an error value on malformed or
   * oversize input and stays failed afterwards; never throws (except what `onFrame` throws).
   *
   * After an 'S' SSLResponse it returns without reading further: a caller about to start
   * TLS must refuse when `bufferedBytes > 0` (bytes injected before the handshake,
   * CVE-2021-23222); otherwise `push(Buffer.alloc(0), onFrame)` goes on.
   */
  push(chunk: Uint8Array, onFrame: (f: BackendFrame) => void): GatewayError | undefined {
    if (this.#failure !== undefined) return this.#failure;
    this.#buffer.append(chunk);
    for (;;) {
      let frame: BackendFrame | undefined;
      try {
        frame = this.#next();
      } catch (err) {
        this.#failure = toGatewayError(err, 'AG_ERR_INTERNAL');
        this.#buffer.clear();
        return this.#failure;
      }
      if (frame === undefined) return undefined;
      onFrame(frame);
      if (frame.type === 'SSLResponse' && frame.raw[0] === 0x53) return undefined;
    }
  }

  #next(): BackendFrame | undefined {
    const b = this.#buffer;
    if (b.length < 1) return undefined;
    const type = String.fromCharCode(b.byteAt(0));
    if (this.#expectSsl) {
      if (type === 'S' || type === 'N') {
        this.#expectSsl = false;
        return { type: 'SSLResponse', raw: b.take(1) };
      }
      if (type !== 'E') throw protocolViolation(`invalid SSLRequest answer 0x${b.byteAt(0).toString(16)}`);
      // An ErrorResponse instead: frame it normally.
      this.#expectSsl = false;
    }
    if (b.length < 5) return undefined;
    const length = b.int32At(1);
    if (length < 4) throw protocolViolation(`invalid message length ${length}`);
    if (length > this.#maxMessageBytes) throw messageTooLarge(length, this.#maxMessageBytes);
    if (b.length < 1 + length) return undefined;
    return { type, raw: b.take(1 + length) };
  }
}
