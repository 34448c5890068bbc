export { EnvReader, type EnvMap } from './env-reader.js';
export { readPipelineConfig, type PipelineConfig } from './common.js';
