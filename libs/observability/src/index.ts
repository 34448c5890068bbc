export { createLogger, REDACTED_PATHS, type Logger, type LoggerConfig } from './logger.js';
export { startAdminServer, type AdminServer, type AdminServerOptions } from './admin-server.js';
export { LatencyHistogram, LATENCY_BUCKETS, bucketDelta, bucketQuantile, parseHistogram, type BucketCounts } from './histogram.js';
export { runService, type RunningService, type ServiceDefinition } from './service-runner.js';
