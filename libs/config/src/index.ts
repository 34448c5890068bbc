export { EnvReader, type EnvMap } from './env-reader.js';
export { readPipelineConfig, readKafkaAuth, readClickHouseAuth, type PipelineConfig, type KafkaAuth } from './common.js';
