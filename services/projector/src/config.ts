import { EnvReader, readClickHouseAuth, readPipelineConfig, type EnvMap, type PipelineConfig } from '@agentgate/config';

export interface ProjectorConfig extends PipelineConfig {
  consumerGroup: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  clickhouseAuth: { username: string; password: string };
  /** A table's batch is inserted once it holds this many rows... */
  batchRows: number;
  /** ...or once its oldest row waited this long. */
  batchMaxMs: number;
  /** Kafka partitions whose batches are read in parallel (order is kept within a partition). */
  partitionsConcurrently: number;
  /** A fetch from Kafka returns once it holds this many bytes... */
  fetchMinBytes: number;
  /** ...or once it waited this long (see fetchMinBytes in app.ts). */
  fetchMaxWaitMs: number;
}

/** Parses and validates the environment once; throws AG_ERR_CONFIG_INVALID naming every problem. */
export function loadConfig(env: EnvMap, processId = process.pid): Readonly<ProjectorConfig> {
  const r = new EnvReader(env);
  return r.done({
    ...readPipelineConfig(r, { serviceName: 'projector', adminPortVar: 'AG_PROJECTOR_ADMIN_PORT', adminPort: 15482, processId }),
    consumerGroup: r.string('AG_PROJECTOR_CONSUMER_GROUP', 'agentgate-projector'),
    clickhouseUrl: r.url('AG_CLICKHOUSE_URL', 'http://127.0.0.1:18123'),
    clickhouseDatabase: r.string('AG_CLICKHOUSE_DATABASE', 'agentgate'),
    clickhouseAuth: readClickHouseAuth(r),
    batchRows: r.int('AG_PROJECTOR_BATCH_ROWS', 10_000, { min: 1, max: 1_000_000 }),
    // A part per table per insert, and ClickHouse merges parts: at one insert every 250 ms the
    // merges of the events table took more CPU than the ingress on one client's statements
    // (docs/benchmarks.md, "Off-path consumers"). One a second keeps the projection a second behind.
    batchMaxMs: r.int('AG_PROJECTOR_BATCH_MS', 1000, { min: 0, max: 10_000 }),
    partitionsConcurrently: r.int('AG_PROJECTOR_PARTITIONS_CONCURRENTLY', 32, { min: 1, max: 1000 }),
    fetchMinBytes: r.int('AG_PROJECTOR_FETCH_MIN_BYTES', 256 * 1024, { min: 1, max: 64 * 1024 * 1024 }),
    fetchMaxWaitMs: r.int('AG_PROJECTOR_FETCH_MAX_WAIT_MS', 250, { min: 1, max: 10_000 }),
  });
}
