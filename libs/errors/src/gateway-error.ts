import { ERROR_CODES, type ErrorCode } from './codes.js';

/** Base error of the gateway: a stable `code`, whether retrying may help, and the cause. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message ?? ERROR_CODES[code].summary, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.retriable = options?.retriable ?? ERROR_CODES[code].retriable;
  }
}

/** True when `value` is a GatewayError, optionally with the given code. */
export function isGatewayError(value: unknown, code?: ErrorCode): value is GatewayError {
  return value instanceof GatewayError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into a GatewayError, keeping an existing code. */
export function toGatewayError(value: unknown, fallback: ErrorCode = 'AG_ERR_INTERNAL'): GatewayError {
  if (value instanceof GatewayError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new GatewayError(fallback, message, { cause: value });
}
