export { EnvReader, type EnvMap } from './env-reader.js';
