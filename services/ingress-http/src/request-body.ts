// An agent's request body, read whole up to a cap (HTTP calls and MCP POSTs are decided on
// their whole body before anything is forwarded).
import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {}

/** The agent's request body, up to `max` bytes; BodyTooLarge past it (the declared length is checked first). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}
