// Statement classification on the real PostgreSQL parser (libpg-query, PostgreSQL 17's
// grammar compiled to WebAssembly). No regexes: what the parser calls a DropStmt is one.
//
// This is the synchronous classifier: it parses on the calling thread, in one WebAssembly
// instance for the life of the process. A long statement blocks the event loop while it parses
// and can grow (or, on out-of-memory, leak) that instance's heap for good; a gateway serving
// many sessions uses createSqlParserPool (parser-pool.ts) instead.
import pgQuery from 'libpg-query';
import { classified, freezeClassification, messageOf, parseStatements, type SqlClassification, unparseable } from './classification.js';
import { LruCache } from './lru-cache.js';

export type { SqlClassification, StatementInfo } from './classification.js';

/** A loaded parser. Loading compiles the WebAssembly module once per process. */
export interface SqlParser {
  classify(sql: string): SqlClassification;
}

/** Options of loadSqlParser. */
export interface SqlParserOptions {
  /**
   * Classifications kept by exact statement text, so that a repeated statement is neither parsed
   * nor walked again; 0 (the default) keeps none. Cached results are deeply frozen and shared.
   */
  maxCacheEntries?: number;
  /** Longer statements are not cached (default 8 KiB). */
  maxCacheableSqlBytes?: number;
}

let loading: Promise<void> | undefined;

/** Loads the parser (idempotent) and returns a synchronous classifier, with a cache of its own when asked. */
export async function loadSqlParser(options: SqlParserOptions = {}): Promise<SqlParser> {
  loading ??= pgQuery.loadModule();
  await loading;
  const entries = options.maxCacheEntries ?? 0;
  if (entries <= 0) return { classify };
  const maxBytes = options.maxCacheableSqlBytes ?? 8 * 1024;
  // Bounded by entries; each holds at most maxBytes of SQL and that statement's tree and facts.
  const cache = new LruCache<SqlClassification>({ maxEntries: entries, maxWeight: Number.POSITIVE_INFINITY });
  return {
    classify(sql: string): SqlClassification {
      if (sql.length > maxBytes || Buffer.byteLength(sql, 'utf8') > maxBytes) return classify(sql);
      const hit = cache.get(sql);
      if (hit !== undefined) return hit;
      const result = freezeClassification(classify(sql));
      cache.set(sql, result, 1);
      return result;
    },
  };
}

function classify(sql: string): SqlClassification {
  try {
    return classified(sql, parseStatements(sql, pgQuery.parseSync));
  } catch (err) {
    return unparseable(messageOf(err));
  }
}
