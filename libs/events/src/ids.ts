import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id derived from another event's id, so a re-processed request yields the
 * same verdict id (consumers deduplicate on it). Version nibble 8 marks it as derived (RFC 9562 custom).
 */
export function derivedEventId(sourceEventId: string, role: string): string {
  const h = createHash('sha256').update(`${sourceEventId}\u0000${role}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
