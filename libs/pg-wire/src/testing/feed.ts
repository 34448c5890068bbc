// Test helpers: feed a byte stream to a parser whole, split in two at every offset, and
// byte by byte, collecting what comes out.
import type { GatewayError } from '@agentgate/errors';
import type { BackendFrame } from '../backend-framer.js';
import { BackendFramer } from '../backend-framer.js';
import type { FrontendMessage } from '../frontend-messages.js';
import { FrontendParser, type FrontendParserOptions } from '../frontend-parser.js';

const EMPTY = Buffer.alloc(0);

/** Ways to cut `bytes` into chunks: whole, every two-way split, and byte by byte. */
export function* splits(bytes: Buffer): Generator<{ label: string; chunks: Buffer[] }> {
  yield { label: 'whole', chunks: [bytes] };
  for (let i = 1; i < bytes.length; i++) {
    yield { label: `split at ${i}`, chunks: [bytes.subarray(0, i), bytes.subarray(i)] };
  }
  const single: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
  yield { label: 'byte by byte', chunks: single };
}

/** Result of feeding chunks: messages in order and the first error value, if any. */
export interface Fed<T> {
  messages: T[];
  error: GatewayError | undefined;
}

/**
 * Feeds chunks to a new FrontendParser. After every chunk it resumes with empty input until
 * nothing more comes out, as a caller that declines SSL does after an SSLRequest pause.
 */
export function feedFrontend(chunks: Iterable<Buffer>, options?: FrontendParserOptions): Fed<FrontendMessage> & { parser: FrontendParser } {
  const parser = new FrontendParser(options);
  const messages: FrontendMessage[] = [];
  const push = (m: FrontendMessage): void => {
    messages.push(m);
  };
  let error: GatewayError | undefined;
  outer: for (const chunk of chunks) {
    error = parser.parse(chunk, push);
    if (error) break;
    for (;;) {
      const before = messages.length;
      error = parser.parse(EMPTY, push);
      if (error) break outer;
      if (messages.length === before) break;
    }
  }
  return { messages, error, parser };
}

/** Feeds chunks to a new BackendFramer, optionally expecting an SSLRequest answer first. */
export function feedBackend(chunks: Iterable<Buffer>, options: { expectSsl?: boolean; maxMessageBytes?: number } = {}): Fed<BackendFrame> {
  const framer = new BackendFramer(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes });
  if (options.expectSsl) framer.expectSslResponse();
  const messages: BackendFrame[] = [];
  let error: GatewayError | undefined;
  for (const chunk of chunks) {
    error = framer.push(chunk, (f) => messages.push(f));
    if (error) break;
  }
  return { messages, error };
}
