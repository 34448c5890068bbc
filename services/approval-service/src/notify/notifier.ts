// Delivers approval notices to webhook channels: fire and forget, with retries. A
// notification is a courtesy to approvers; whether it arrives never changes the approval, so
// nothing here throws at the caller or makes it wait. Logs name the channel, its origin and
// what went wrong, never the body (it holds the statement), the URL path (a Slack webhook's
// secret) or a signing key.
import type { Logger } from '@agentgate/observability';
import type { Channel, ChannelSet } from './channels.js';
import type { ApprovalNotice } from './notice.js';
import { renderBody } from './payload.js';
import { DEFAULT_RETRY, backoffMs, isRetriableStatus, retryAfterMs, type RetryPolicy } from './retry.js';
import { signatureHeaders } from './signature.js';

export type { ApprovalNotice } from './notice.js';

export interface NotifierDeps {
  fetch: typeof fetch;
  sleep(ms: number): Promise<void>;
  logger: Logger;
  nowMs?: () => number;
  random?: () => number;
  /** Tests may shorten the schedule; the default is base 500 ms, factor 2, cap 30 s, 6 attempts. */
  retry?: Partial<RetryPolicy>;
}

export interface Notifier {
  /** Starts delivery to each named channel and returns at once; never throws. */
  notify(notice: ApprovalNotice, channelNames: readonly string[]): void;
  /** Resolves when no delivery is in flight (tests, shutdown). */
  idle(): Promise<void>;
}

/** How one attempt ended. */
type Attempt =
  | { ok: true; status: number }
  | { ok: false; retriable: boolean; status: number | null; error: string | null; retryAfterMs?: number };

/** A socket-level code (ECONNREFUSED, ...) or the error's name: never its message, which may quote the URL. */
export function errorCodeOf(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{2,}$/.test(code)) return code;
    if (name === 'TimeoutError' || name === 'AbortError') return 'TIMEOUT';
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : 'error';
}

export function createNotifier(channels: ChannelSet, deps: NotifierDeps): Notifier {
  const nowMs = deps.nowMs ?? Date.now;
  const random = deps.random ?? Math.random;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry };
  const log = deps.logger.child({ component: 'approval-notify' });
  const inFlight = new Set<Promise<void>>();

  async function attempt(channel: Channel, body: string): Promise<Attempt> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'agentgate-approval-service' };
    // Signed per attempt: a retry minutes later must still fall inside the receiver's tolerance.
    if (channel.secret !== null) Object.assign(headers, signatureHeaders(channel.secret.bytes(), body, Math.floor(nowMs() / 1000)));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), channel.timeoutMs);
    try {
      // No redirects: a signed notice goes to the configured receiver or nowhere.
      const response = await deps.fetch(channel.url, { method: 'POST', headers, body, redirect: 'manual', signal: controller.signal });
      // The answer's body is not needed; releasing it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status <= 299) return { ok: true, status: response.status };
      const retriable = isRetriableStatus(response.status);
      const wait =
        response.status === 429 || response.status === 503
          ? retryAfterMs(response.headers.get('retry-after'), nowMs(), policy.capMs)
          : undefined;
      return { ok: false, retriable, status: response.status, error: null, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
    } catch (error) {
      return { ok: false, retriable: true, status: null, error: controller.signal.aborted ? 'TIMEOUT' : errorCodeOf(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  async function deliver(channel: Channel, notice: ApprovalNotice): Promise<void> {
    const fields = { approvalId: notice.approvalId, channel: channel.name, origin: channel.origin };
    const body = renderBody(channel.format, notice);
    let attempts = 0;
    let last: Attempt;
    for (;;) {
      attempts++;
      last = await attempt(channel, body);
      if (last.ok) {
        log.info({ ...fields, attempts, status: last.status }, 'approval notification delivered');
        return;
      }
      if (!last.retriable || attempts >= policy.maxAttempts) break;
      const wait = last.retryAfterMs ?? backoffMs(policy, attempts, random);
      log.debug(
        { ...fields, attempt: attempts, status: last.status, err: last.error, retryInMs: wait },
        'approval notification attempt failed; retrying',
      );
      await deps.sleep(wait);
    }
    log.warn(
      { ...fields, attempts, status: last.status, err: last.error },
      'approval notification not delivered; the approval itself is unaffected',
    );
  }

  function track(promise: Promise<void>): void {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  }

  return {
    notify(notice, channelNames) {
      try {
        for (const name of new Set(channelNames)) {
          const channel = channels.get(name);
          if (channel === undefined) {
            log.warn({ approvalId: notice.approvalId, channel: name }, 'unknown notification channel; skipped');
            continue;
          }
          // Started from a microtask: rendering and the first fetch call do not run inside the caller's turn.
          track(
            Promise.resolve()
              .then(() => deliver(channel, notice))
              .catch((error: unknown) => {
                try {
                  log.error(
                    { approvalId: notice.approvalId, channel: name, err: errorCodeOf(error) },
                    'approval notification failed unexpectedly',
                  );
                } catch {
                  // A rejection here would be unhandled; the approval path must not see it either.
                }
              }),
          );
        }
      } catch {
        // Even a logger that throws must not reach the approval path.
      }
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
