import { GatewayError, type ErrorCode } from '@agentgate/errors';

/**
 * Resolves with the promise's value, or rejects with a GatewayError of `code` once
 * `ms` have passed. The underlying operation is not cancelled; callers must treat its
 * late completion as harmless (an audit event written late is still an audit event).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, code: ErrorCode, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatewayError(code, `${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
