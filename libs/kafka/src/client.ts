import { Kafka, logLevel, type KafkaConfig, type LogEntry, type logCreator } from 'kafkajs';

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
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 1000,
    requestTimeout: options.requestTimeoutMs ?? 5000,
    retry: { ...RETRY_PROFILES[options.retry ?? 'standard'] },
    logLevel: logLevel.WARN,
  };
  if (options.logger) config.logCreator = bridge(options.logger);
  return new Kafka(config);
}
