// Builds backend frames: Byte1 type, Int32 length (counts itself, not the type byte), body.
// Wire primitives: Int16/Int32 big-endian; String is UTF-8 terminated by one NUL byte.
import { GatewayError } from '@agentgate/errors';

/** UTF-8 bytes of `s` plus the NUL terminator; throws if `s` contains NUL, which would end the String early. */
export function cstring(s: string, field: string): Buffer {
  if (s.includes('\0')) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `${field} must not contain a NUL character`);
  return Buffer.from(`${s}\0`, 'utf8');
}

/** Big-endian Int16; accepts -32768..65535 so unsigned 16-bit values keep their bits. */
export function int16(n: number, field: string): Buffer {
  if (!Number.isInteger(n) || n < -0x8000 || n > 0xffff) {
    throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `${field} ${n} does not fit in 16 bits`);
  }
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

/** Big-endian Int32; accepts -2^31..2^32-1 so OIDs and unsigned keys keep their bits. */
export function int32(n: number, field: string): Buffer {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) {
    throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `${field} ${n} does not fit in 32 bits`);
  }
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** One complete frame of the given type around `parts`. */
export function frame(type: string, parts: readonly Uint8Array[]): Buffer {
  let bodyLength = 0;
  for (const p of parts) bodyLength += p.length;
  const out = Buffer.allocUnsafe(5 + bodyLength);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + bodyLength, 1);
  let offset = 5;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
