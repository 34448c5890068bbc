import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino must never print. Payloads (SQL text, rows, tokens) belong in the audit log,
 * not in service logs; this list is the last line of defence, not the first.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'secret',
  '*.secret',
  'sql',
  '*.sql',
  'text',
  '*.text',
  'params',
  '*.params',
  'rows',
  '*.rows',
];

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Write to this destination instead of stdout (tests). */
  destination?: pino.DestinationStream;
}

/** The root logger of a service: JSON lines, service name bound, secrets redacted. */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service, pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
