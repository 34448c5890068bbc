export { loadSqlParser, type SqlParser, type SqlParserOptions, type SqlClassification, type StatementInfo } from './classify.js';
export { parserPoolMetrics } from './parser-metrics.js';
export { createSqlParserPool, type AsyncSqlParser, type SqlParserPoolOptions, type SqlParserPoolStats } from './parser-pool.js';
export {
  type NameRef,
  STATEMENT_KIND_CLASSES,
  type StatementClass,
  type StatementFacts,
  type StatementFactsOptions,
  statementFacts,
  noStatementFlags,
} from './statement-facts.js';
export { type SqlShape, sqlShape } from './sql-shape.js';
