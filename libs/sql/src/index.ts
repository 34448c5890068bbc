export { loadSqlParser, type SqlParser, type SqlClassification, type StatementInfo } from './classify.js';
