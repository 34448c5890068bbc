// Test support for other packages' tests (fuzzers, protocol e2e): golden client frames
// captured from psql, node-postgres and pgjdbc, golden server frames from PostgreSQL 15, and
// the seeded PRNG. Not for production code.
export * as golden from './golden-frontend.js';
export * as goldenBackend from './golden-backend.js';
export { mulberry32, below } from './prng.js';
