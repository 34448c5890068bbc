// Statement classification on the real PostgreSQL parser (libpg-query, PostgreSQL 17's
// grammar compiled to WebAssembly). No regexes: what the parser calls a DropStmt is one.
import pgQuery from 'libpg-query';

/** One top-level statement of a query string. */
export interface StatementInfo {
  /** Parser node name: SelectStmt, InsertStmt, DropStmt, TransactionStmt, ... */
  kind: string;
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
  let result: { stmts?: Array<{ stmt?: Record<string, unknown> }> };
  try {
    // The parser refuses an empty string; PostgreSQL answers it with EmptyQueryResponse.
    result = sql.trim() === '' ? { stmts: [] } : (pgQuery.parseSync(sql) as typeof result);
  } catch (err) {
    return { ok: false, statements: [], statementKind: 'UNPARSEABLE', statementKinds: [], error: (err as Error).message };
  }
  const statements: StatementInfo[] = (result.stmts ?? []).map((s) => {
    const node = s.stmt ?? {};
    const kind = Object.keys(node)[0] ?? 'Unknown';
    return { kind, tree: (node[kind] ?? {}) as Record<string, unknown> };
  });
  const statementKinds = statements.map((s) => s.kind);
  const statementKind = statements.length === 0 ? 'EMPTY' : statements.length === 1 ? statementKinds[0]! : 'MULTI';
  return { ok: true, statements, statementKind, statementKinds };
}
