// When to try a webhook again and how long to wait first. Pure: the random draw and the
// clock come in, so the schedule is testable to the millisecond.

/** Exponential backoff with full jitter (AWS's "full jitter"): wait random() * min(cap, base * factor^(n-1)). */
export interface RetryPolicy {
  baseMs: number;
  factor: number;
  capMs: number;
  maxAttempts: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ baseMs: 500, factor: 2, capMs: 30_000, maxAttempts: 6 });

/** 429 and 5xx may succeed later; any other status is the receiver's final word. */
export function isRetriableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** The wait before attempt `attempt + 1`, after `attempt` (1-based) failed. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * policy.factor ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Retry-After (RFC 9110 section 10.2.3: delay-seconds or an HTTP date) in milliseconds,
 * capped; undefined when absent or unreadable, so the backoff applies instead.
 */
export function retryAfterMs(header: string | null, nowMs: number, capMs: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(capMs, Math.max(0, ms));
}
