// Request signing, the scheme of Stripe's and Slack's webhooks: the signed string is
// "<unix seconds>.<raw body>", so a receiver can refuse both changed bodies and replays
// older than its tolerance. Pure: time comes in.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'X-Agentgate-Timestamp';
export const SIGNATURE_HEADER = 'X-Agentgate-Signature';
/** The scheme's version tag; a header may carry several `v1=` values (key rotation). */
export const SIGNATURE_VERSION = 'v1';

/** Hex HMAC-SHA256 of "<timestamp>.<body>". */
export function computeSignature(secret: Buffer | string, timestamp: number | string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The two headers of a signed request sent at `nowSec`. */
export function signatureHeaders(secret: Buffer | string, body: string, nowSec: number): Record<string, string> {
  const timestamp = String(Math.floor(nowSec));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${SIGNATURE_VERSION}=${computeSignature(secret, timestamp, body)}`,
  };
}

/**
 * True when `header` carries a v1 signature of `body` at `timestamp` under `secret`, and the
 * timestamp is within `toleranceSec` of `nowSec` (either side). Comparison is constant-time.
 */
export function verifySignature(
  secret: Buffer | string,
  timestamp: string | number,
  body: string,
  header: string,
  nowSec: number,
  toleranceSec = 300,
): boolean {
  const ts = String(timestamp);
  if (!/^\d{1,12}$/.test(ts) || Math.abs(nowSec - Number(ts)) > toleranceSec) return false;
  const expected = Buffer.from(computeSignature(secret, ts, body), 'hex');
  let ok = false;
  for (const part of header.split(',')) {
    const [version, value] = part.trim().split('=', 2);
    if (version !== SIGNATURE_VERSION || value === undefined || !/^[0-9a-f]{64}$/i.test(value)) continue;
    // Every candidate is compared, so the time taken does not say which one matched.
    if (timingSafeEqual(Buffer.from(value, 'hex'), expected)) ok = true;
  }
  return ok;
}
