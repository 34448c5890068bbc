// Statement classification on the real PostgreSQL parser (libpg-query, PostgreSQL 17's
// grammar compiled to WebAssembly). No regexes: what the parser calls a DropStmt is one.
//
// This is the synchronous classifier: it parses on the calling thread, in one WebAssembly
// instance for the life of the process. A long statement blocks the event loop while it parses
// and can grow (or, on out-of-memory, leak) that instance's heap for good; a gateway serving
// many sessions uses createSqlParserPool (parser-pool.ts) instead.
import pgQuery from 'libpg-query';
import {
  classified,
  deepFreeze,
  freezeClassification,
  type LocatedStatement,
  messageOf,
  parseStatements,
  type SqlClassification,
  unparseable,
} from './classification.js';
import { LruCache } from './lru-cache.js';
import { ShapeCache } from './shape-cache.js';
import { sqlShape } from './sql-shape.js';

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
  /**
   * Classifications kept by statement shape (literals and comments aside, see sql-shape.ts),
   * behind the exact-text cache; 0 (the default) keeps none.
   */
  maxShapeEntries?: number;
}

let loading: Promise<void> | undefined;

/** Loads the parser (idempotent) and returns a synchronous classifier, with a cache of its own when asked. */
export async function loadSqlParser(options: SqlParserOptions = {}): Promise<SqlParser> {
  loading ??= pgQuery.loadModule();
  await loading;
  const entries = options.maxCacheEntries ?? 0;
  const shapeEntries = options.maxShapeEntries ?? 0;
  if (entries <= 0 && shapeEntries <= 0) return { classify };
  const maxBytes = options.maxCacheableSqlBytes ?? 8 * 1024;
  // Bounded by entries; each holds at most maxBytes of SQL and that statement's tree and facts.
  const cache = new LruCache<SqlClassification>({ maxEntries: entries, maxWeight: Number.POSITIVE_INFINITY });
  const shapes = shapeEntries > 0 ? new ShapeCache({ maxEntries: shapeEntries, treeOf }) : undefined;
  return {
    classify(sql: string): SqlClassification {
      if (sql.length > maxBytes || Buffer.byteLength(sql, 'utf8') > maxBytes) return classify(sql);
      const hit = cache.get(sql);
      if (hit !== undefined) return hit;
      const shape = shapes ? sqlShape(sql) : null;
      let result = shape ? shapes!.get(sql, shape) : undefined;
      if (result === undefined) {
        let located: LocatedStatement[] | undefined;
        result = freezeClassification(classify(sql, (l) => (located = l)));
        if (shape && located) shapes!.remember(shape, located);
      }
      cache.set(sql, result, 1);
      return result;
    },
  };
}

function classify(sql: string, onLocated?: (located: LocatedStatement[]) => void): SqlClassification {
  try {
    const located = parseStatements(sql, pgQuery.parseSync);
    onLocated?.(located);
    return classified(sql, located);
  } catch (err) {
    return unparseable(messageOf(err));
  }
}

/** Statement `index` of `sql`'s tree, for a statement classified by its shape. */
function treeOf(sql: string, index: number): Record<string, unknown> {
  const stmt = (pgQuery.parseSync(sql) as { stmts?: { stmt?: Record<string, unknown> }[] }).stmts?.[index]?.stmt ?? {};
  const kind = Object.keys(stmt)[0];
  return deepFreeze((kind === undefined ? {} : stmt[kind]) as Record<string, unknown>);
}
