// Statement classification on the real PostgreSQL parser (libpg-query, PostgreSQL 17's
// grammar compiled to WebAssembly). No regexes: what the parser calls a DropStmt is one.
//
// This is the synchronous classifier: it parses on the calling thread, in one WebAssembly
// instance for the life of the process. A long statement blocks the event loop while it parses
// and can grow (or, on out-of-memory, leak) that instance's heap for good; a gateway serving
// many sessions uses createSqlParserPool (parser-pool.ts) instead.
import pgQuery from 'libpg-query';
import { classified, messageOf, parseStatements, type SqlClassification, unparseable } from './classification.js';

export type { SqlClassification, StatementInfo } from './classification.js';

/** A loaded parser. Loading compiles the WebAssembly module once per process. */
export interface SqlParser {
  classify(sql: string): SqlClassification;
}

let loading: Promise<void> | undefined;

/** Loads the parser (idempotent) and returns a synchronous classifier. */
export async function loadSqlParser(): Promise<SqlParser> {
  loading ??= pgQuery.loadModule();
  await loading;
  return { classify };
}

function classify(sql: string): SqlClassification {
  try {
    return classified(sql, parseStatements(sql, pgQuery.parseSync));
  } catch (err) {
    return unparseable(messageOf(err));
  }
}
