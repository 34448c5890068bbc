export { loadSqlParser, type SqlParser, type SqlClassification, type StatementInfo } from './classify.js';
export { parserPoolMetrics } from './parser-metrics.js';
export { createSqlParserPool, type AsyncSqlParser, type SqlParserPoolOptions, type SqlParserPoolStats } from './parser-pool.js';
