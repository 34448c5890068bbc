// Statement classification on the real PostgreSQL parser (libpg-query, PostgreSQL 17's
// grammar compiled to WebAssembly). No regexes: what the parser calls a DropStmt is one.
import pgQuery from 'libpg-query';

/** One top-level statement of a query string. */
export interface StatementInfo {
  /** Parser node name: SelectStmt, InsertStmt, DropStmt, TransactionStmt, ... */
  kind: string;
  /** This statement's own text, cut from the query string at the parser's byte offsets. */
  text: string;
  /** The statement's parse tree (libpg-query JSON); policy reads it, events do not carry it. */
  tree: Record<string, unknown>;
}

export type SqlClassification =
  | { ok: true; statements: StatementInfo[]; statementKind: string; statementKinds: string[] }
  | { ok: false; statements: []; statementKind: 'UNPARSEABLE'; statementKinds: []; error: string };

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
  let result: { stmts?: Array<{ stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }> };
  try {
    // The parser refuses an empty string; PostgreSQL answers it with EmptyQueryResponse.
    result = sql.trim() === '' ? { stmts: [] } : (pgQuery.parseSync(sql) as typeof result);
  } catch (err) {
    return { ok: false, statements: [], statementKind: 'UNPARSEABLE', statementKinds: [], error: (err as Error).message };
  }
  // Locations are byte offsets into the UTF-8 text; a length of 0 means "to the end".
  const bytes = Buffer.from(sql, 'utf8');
  const statements: StatementInfo[] = (result.stmts ?? []).map((s) => {
    const node = s.stmt ?? {};
    const kind = Object.keys(node)[0] ?? 'Unknown';
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    return { kind, text: bytes.subarray(start, end).toString('utf8').trim(), tree: (node[kind] ?? {}) as Record<string, unknown> };
  });
  const statementKinds = statements.map((s) => s.kind);
  const statementKind = statements.length === 0 ? 'EMPTY' : statements.length === 1 ? statementKinds[0]! : 'MULTI';
  return { ok: true, statements, statementKind, statementKinds };
}
