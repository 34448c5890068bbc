import { Kafka, logLevel, type KafkaConfig, type LogEntry, type logCreator } from 'kafkajs';
import { fixKafkajsRequestQueue } from './request-queue-fix.js';

/** Minimal logger shape (pino-compatible) the Kafka adapter logs through. */
export interface KafkaLogSink {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger?: KafkaLogSink;
  /** Milliseconds; the defaults suit loopback and keep failure detection inside the verdict budget. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** SCRAM-SHA-512 over TLS; null or absent = PLAINTEXT. */
  auth?: { username: string; password: string; caPem: string } | null;
  /** Retry profile: `fast` for tests and request paths with a deadline, `standard` for background consumers. */
  retry?: 'fast' | 'standard';
}

const RETRY_PROFILES = {
  fast: { retries: 2, initialRetryTime: 50, maxRetryTime: 500, factor: 0.2, multiplier: 2 },
  standard: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000, factor: 0.2, multiplier: 2 },
} as const;

function bridge(sink: KafkaLogSink): logCreator {
  return () => (entry: LogEntry) => {
    const { message, ...extra } = entry.log;
    const fields = { kafka: entry.namespace, ...extra };
    if (entry.level === logLevel.ERROR) sink.error(fields, message);
    else if (entry.level === logLevel.WARN) sink.warn(fields, message);
    else sink.debug(fields, message);
  };
}

/** A kafkajs client with agentgate's timeouts, retry profile and log bridge. */
export function createKafka(options: KafkaClientOptions): Kafka {
  if (!fixKafkajsRequestQueue()) {
    options.logger?.warn(
      { code: 'AG_ERR_CONFIG_INVALID' },
      'kafkajs is not the version its request-queue fix was written for; the fix is not applied',
    );
  }
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 1000,
    requestTimeout: options.requestTimeoutMs ?? 5000,
    retry: { ...RETRY_PROFILES[options.retry ?? 'standard'] },
    logLevel: logLevel.WARN,
  };
  if (options.auth) {
    // The broker's certificate is verified against the stack's CA, host name included.
    config.ssl = { ca: [options.auth.caPem], rejectUnauthorized: true };
    config.sasl = { mechanism: 'scram-sha-512', username: options.auth.username, password: options.auth.password };
  }
  if (options.logger) config.logCreator = bridge(options.logger);
  return new Kafka(config);
}
